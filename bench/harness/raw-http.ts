/**
 * A minimal keep-alive HTTP/1.1 client for load generation: requests are pre-serialised templates
 * (unique ids written into fixed-width slots), responses are parsed just enough to find their end and
 * status. node:http's client costs more per request than the servers it would measure.
 */
import { connect, type Socket } from "node:net";
import { randomBytes } from "node:crypto";

export const ID_MARKER = "{{id}}";
const ID_WIDTH = 20;

export interface RequestSpec {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** May contain {{id}} markers (also in header values), each replaced by a new unique id per request. */
  body: string;
}

/** A request serialised once; each `next()` copies it and fills its id slots with fresh ids. */
export class RequestTemplate {
  readonly #bytes: Buffer;
  readonly #slots: number[];
  readonly #prefix = randomBytes(4).toString("hex");
  #counter = 0;

  constructor(spec: RequestSpec, host: string) {
    const placeholder = "#".repeat(ID_WIDTH);
    const body = spec.body.split(ID_MARKER).join(placeholder);
    const head =
      `${spec.method} ${spec.path} HTTP/1.1\r\nhost: ${host}\r\n` +
      Object.entries(spec.headers)
        .map(([name, value]) => `${name}: ${value.split(ID_MARKER).join(placeholder)}\r\n`)
        .join("") +
      `content-length: ${Buffer.byteLength(body)}\r\n\r\n`;
    this.#bytes = Buffer.from(head + body);
    this.#slots = [];
    for (
      let at = this.#bytes.indexOf(placeholder);
      at !== -1;
      at = this.#bytes.indexOf(placeholder, at + ID_WIDTH)
    ) {
      this.#slots.push(at);
    }
  }

  get ids(): number {
    return this.#slots.length;
  }

  next(): Buffer {
    if (this.#slots.length === 0) return this.#bytes;
    const bytes = Buffer.from(this.#bytes);
    for (const slot of this.#slots) {
      const id = `${this.#prefix}-${(this.#counter++).toString(36).padStart(ID_WIDTH - 9, "0")}`;
      bytes.write(id, slot, "latin1");
    }
    return bytes;
  }
}

/** One keep-alive connection, one request in flight at a time. */
export class RawHttpConnection {
  readonly #socket: Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #waiting: { resolve(status: number): void; reject(err: Error): void } | undefined;
  #closed: Error | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => {
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
      this.#parse();
    });
    const fail = (err: Error) => {
      this.#closed ??= err;
      const waiting = this.#waiting;
      this.#waiting = undefined;
      waiting?.reject(err);
    };
    socket.on("error", fail);
    socket.on("close", () => fail(new Error("the server closed the connection")));
  }

  static open(host: string, port: number): Promise<RawHttpConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port }, () => {
        socket.off("error", reject);
        resolve(new RawHttpConnection(socket));
      });
      socket.once("error", reject);
    });
  }

  /** Sends one request; resolves with the response's status once the whole response has arrived. */
  request(bytes: Buffer): Promise<number> {
    if (this.#closed) return Promise.reject(this.#closed);
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#socket.write(bytes);
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  #parse(): void {
    const end = this.#buffer.indexOf("\r\n\r\n");
    if (end === -1) return;
    const head = this.#buffer.toString("latin1", 0, end);
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    const total = end + 4 + (length ? Number(length[1]) : 0);
    if (this.#buffer.length < total) return;
    if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      throw new Error("the load generator does not read chunked responses");
    }
    const status = Number(head.slice(9, 12));
    this.#buffer = this.#buffer.length === total ? Buffer.alloc(0) : this.#buffer.subarray(total);
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.resolve(status);
  }
}
