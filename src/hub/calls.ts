/** Promise-shaped unary calls with a deadline, and gRPC failures mapped onto what callers act on. */
import * as grpc from "@grpc/grpc-js";

export type CallFailure = "unavailable" | "timeout" | "unsupported" | "rejected" | "failed";

/** A call to a plugin that did not produce an answer; `code` says what the caller should tell people. */
export class PluginCallError extends Error {
  override name = "PluginCallError";
  readonly code: CallFailure;
  readonly grpcCode: grpc.status | undefined;

  constructor(code: CallFailure, message: string, grpcCode?: grpc.status) {
    super(message);
    this.code = code;
    this.grpcCode = grpcCode;
  }
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (err: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall;

export function callUnary<Req, Res>(
  client: grpc.Client,
  method: UnaryMethod<Req, Res>,
  request: Req,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    const call = method.call(
      client,
      request,
      new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs },
      (err, response) => {
        signal?.removeEventListener("abort", cancel);
        if (err) reject(toCallError(err, timeoutMs));
        else resolve(response);
      },
    );
    const cancel = () => call.cancel();
    signal?.addEventListener("abort", cancel, { once: true });
  });
}

export function toCallError(err: grpc.ServiceError, timeoutMs?: number): PluginCallError {
  const details = err.details || err.message;
  switch (err.code) {
    case grpc.status.DEADLINE_EXCEEDED:
      return new PluginCallError(
        "timeout",
        timeoutMs === undefined
          ? "the plugin did not answer in time"
          : `the plugin did not answer within ${timeoutMs} ms`,
        err.code,
      );
    case grpc.status.UNAVAILABLE:
      return new PluginCallError("unavailable", `the plugin is unreachable: ${details}`, err.code);
    case grpc.status.UNIMPLEMENTED:
      return new PluginCallError(
        "unsupported",
        `the plugin does not implement this call: ${details}`,
        err.code,
      );
    case grpc.status.INVALID_ARGUMENT:
      return new PluginCallError("rejected", details, err.code);
    default:
      return new PluginCallError("failed", `the plugin failed: ${details}`, err.code);
  }
}
