/** How the SDK turns a bad config or a failed handler into a gRPC status the host can explain. */
import * as grpc from "@grpc/grpc-js";
import { ConfigError, parseConfigJson, type ConfigValidator } from "./config.ts";

export function validateConfig(validator: ConfigValidator, configJson: string): unknown {
  try {
    return validator.validate(parseConfigJson(configJson));
  } catch (err) {
    if (err instanceof ConfigError)
      throw grpcError(grpc.status.INVALID_ARGUMENT, `invalid config: ${err.message}`);
    throw err;
  }
}

export function grpcError(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
}

export function asGrpcError(err: unknown): grpc.ServiceError {
  if (err && typeof err === "object" && "code" in err && typeof err.code === "number") {
    return err as grpc.ServiceError;
  }
  return grpcError(grpc.status.INTERNAL, (err as Error)?.message ?? String(err));
}
