/** The ingress on a listening socket, hardened against slow and oversized clients. */
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { createIngressApp, type IngressDeps } from "./app.ts";
import { errorBody } from "./http-errors.ts";

export interface IngressServerOptions extends IngressDeps {
  /** Default 0.0.0.0. */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Time to receive a request's headers (slow-loris guard). Default 10 s. */
  headersTimeoutMs?: number;
  /** Time to receive a whole request. Default 30 s. */
  requestTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open. Default 5 s. */
  keepAliveTimeoutMs?: number;
  /** How often the timeouts above are checked. Default 1 s. */
  timeoutCheckIntervalMs?: number;
  /** Largest total size of a request's headers. Default 16 KiB. */
  maxHeaderBytes?: number;
}

export interface RunningIngress {
  /** e.g. http://127.0.0.1:41234 */
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /** Stops accepting, lets in-flight requests finish for up to graceMs (default 5 s), then closes the rest. */
  close(graceMs?: number): Promise<void>;
}

export async function startIngress(options: IngressServerOptions): Promise<RunningIngress> {
  const headersTimeout = options.headersTimeoutMs ?? 10_000;
  const server = createServer(
    {
      headersTimeout,
      requestTimeout: Math.max(options.requestTimeoutMs ?? 30_000, headersTimeout),
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 5_000,
      connectionsCheckingInterval: options.timeoutCheckIntervalMs ?? 1_000,
      maxHeaderSize: options.maxHeaderBytes ?? 16 * 1024,
    },
    createIngressApp(options),
  );
  server.on("clientError", answerClientError);
  const host = options.host ?? "0.0.0.0";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8080, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    server,
    close: (graceMs = 5_000) => (closing ??= closeGracefully(server, graceMs)),
  };
}

/** Requests node's parser refuses (bad syntax, oversized headers, timeouts) also get a JSON error. */
function answerClientError(err: NodeJS.ErrnoException & { code?: string }, socket: Socket): void {
  if (!socket.writable || (err as { code?: string }).code === "ECONNRESET") {
    socket.destroy();
    return;
  }
  const [status, reason, code, message] =
    err.code === "HPE_HEADER_OVERFLOW"
      ? [431, "Request Header Fields Too Large", "headers-too-large", "the request headers are too large"]
      : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? [408, "Request Timeout", "request-timeout", "the request was not received in time"]
        : [400, "Bad Request", "bad-request", `the request is not valid HTTP: ${err.message}`];
  const body = JSON.stringify(errorBody(code, message));
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

async function closeGracefully(server: Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  timer.unref();
  await closed;
  clearTimeout(timer);
}
