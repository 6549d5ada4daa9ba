/**
 * What every bundled plugin's tests share: start the plugin as a real child process, learn its
 * address from the handshake line, and call it over real gRPC with the generated clients.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import * as grpc from "@grpc/grpc-js";
import { ExecutorClient, SourceClient, type Event, type StreamRequest } from "@patchbay/sdk/protocol";

export interface StartedPlugin {
  readonly child: ChildProcess;
  /** host:port from the handshake line. */
  readonly address: string;
  /** Everything the plugin wrote on stderr so far (its logs). */
  stderr(): string;
  /** Signals the process and resolves with its exit code once it has gone. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartOptions {
  env?: Record<string, string>;
  /** How long to wait for the handshake line. Default 15 s. */
  timeoutMs?: number;
}

const HANDSHAKE = /^PATCHBAY_PLUGIN\|1\|tcp\|([^|]+)\|grpc$/;

/** Runs `node <file>` (a path relative to the repo root) and waits for its handshake. */
export async function startPlugin(file: string, options: StartOptions = {}): Promise<StartedPlugin> {
  const child = spawn(process.execPath, [file], {
    env: {
      ...process.env,
      PATCHBAY_PLUGIN_ADDRESS: "127.0.0.1:0",
      PATCHBAY_LOG_LEVEL: "warn",
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout! });
  const timeoutMs = options.timeoutMs ?? 15_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    const [line] = (await Promise.race([
      once(lines, "line"),
      once(child, "exit").then(() => {
        throw new Error(`plugin ${file} exited before its handshake:\n${stderr}`);
      }),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no handshake from ${file} within ${timeoutMs} ms:\n${stderr}`)),
          timeoutMs,
        );
      }),
    ])) as [string];
    const address = HANDSHAKE.exec(line)?.[1];
    if (!address) throw new Error(`unexpected handshake line from ${file}: ${JSON.stringify(line)}`);
    return {
      child,
      address,
      stderr: () => stderr,
      async stop(signal = "SIGTERM") {
        if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
        const exited = once(child, "exit");
        child.kill(signal);
        const [code] = (await exited) as [number | null];
        return code;
      },
    };
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

const insecure = grpc.credentials.createInsecure();

export function sourceClient(address: string): SourceClient {
  return new SourceClient(address, insecure);
}

export function executorClient(address: string): ExecutorClient {
  return new ExecutorClient(address, insecure);
}

type UnaryCallback<Res> = (error: grpc.ServiceError | null, response: Res) => void;

/**
 * Promisifies one unary call with a deadline:
 *   await unary<DescribeResponse>((m, o, cb) => client.describe({}, m, o, cb))
 */
export function unary<Res>(
  invoke: (
    metadata: grpc.Metadata,
    options: Partial<grpc.CallOptions>,
    callback: UnaryCallback<Res>,
  ) => unknown,
  timeoutMs = 10_000,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    invoke(new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) =>
      err ? reject(err) : resolve(res),
    );
  });
}

/**
 * Opens a Stream and collects events until `until` says enough (default: `count` events), then cancels.
 * Rejects with the stream's error, or when the deadline passes first.
 */
export function readEvents(
  client: SourceClient,
  request: Partial<StreamRequest>,
  {
    count = 1,
    timeoutMs = 10_000,
    until,
  }: { count?: number; timeoutMs?: number; until?: (events: Event[]) => boolean } = {},
): Promise<Event[]> {
  const enough = until ?? ((events: Event[]) => events.length >= count);
  const call = client.stream({ sourceName: "test", configJson: "", resumeAfterId: "", ...request });
  const events: Event[] = [];
  return new Promise<Event[]>((resolve, reject) => {
    const timer = setTimeout(() => {
      call.cancel();
      reject(
        new Error(
          `stream: timed out after ${timeoutMs} ms with ${events.length} events: ${JSON.stringify(events.map((e) => e.type))}`,
        ),
      );
    }, timeoutMs);
    const finish = (err?: Error) => {
      clearTimeout(timer);
      call.removeAllListeners("data");
      if (err) reject(err);
      else resolve(events);
    };
    call.on("data", (event: Event) => {
      events.push(event);
      if (enough(events)) {
        finish();
        call.cancel();
      }
    });
    call.on("error", (err: grpc.ServiceError) => {
      if (err.code !== grpc.status.CANCELLED) finish(err);
    });
    call.on("end", () => finish(new Error(`stream ended after ${events.length} events`)));
  });
}

/** Parses an event's JSON data. */
export function dataOf<T = Record<string, unknown>>(event: Event): T {
  return JSON.parse(Buffer.from(event.data).toString()) as T;
}

/** Polls until `probe` returns something truthy, instead of sleeping a fixed time. */
export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  { timeoutMs = 10_000, intervalMs = 20, what = "condition" } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
