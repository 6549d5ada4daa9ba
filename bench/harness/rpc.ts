/**
 * A tiny request/answer protocol over a forked child's IPC channel, so the benchmark driver can ask a
 * server or load generator in another process to start, measure and report.
 */

interface Request {
  rpc: number;
  method: string;
  params: unknown;
}

interface Answer {
  rpc: number;
  result?: unknown;
  error?: string;
}

export type Handlers = Record<string, (params: never) => unknown>;

/** In a worker: answers the driver's calls with these handlers; `ready` is sent first. */
export function serveRpc(handlers: Handlers, ready: unknown): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error("a benchmark worker must be started with an IPC channel (fork)");
  process.on("message", (message: Request) => {
    if (typeof message?.rpc !== "number") return;
    const handler = handlers[message.method];
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown method ${message.method}`);
        return handler(message.params as never);
      })
      .then(
        (result) => send({ rpc: message.rpc, result } satisfies Answer),
        (err: unknown) =>
          send({ rpc: message.rpc, error: (err as Error)?.stack ?? String(err) } satisfies Answer),
      );
  });
  // The driver going away must not leave workers behind.
  process.on("disconnect", () => process.exit(0));
  send({ ready });
}

/** The parameters the driver passed to this worker (JSON in argv[2]). */
export function workerParams<T>(): T {
  return JSON.parse(process.argv[2] ?? "{}") as T;
}

export function isAnswer(message: unknown): message is Answer {
  return typeof (message as Answer)?.rpc === "number";
}
