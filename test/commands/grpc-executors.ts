/**
 * A thin ExecutorDirectory over real gRPC: what the hub does, minus reconnects and state, so tests
 * exercise the dispatcher against a plugin served by the SDK over a real socket.
 */
import * as grpc from "@grpc/grpc-js";
import { ExecuteErrorCode, ExecutorClient } from "@patchbay/sdk/protocol";
import type { ExecutorAnswer, ExecutorDirectory, ExecutorInfo } from "../../src/commands/index.ts";

const errorCodes: Record<number, ExecutorAnswer["errorCode"]> = {
  [ExecuteErrorCode.EXECUTE_ERROR_CODE_OK]: "ok",
  [ExecuteErrorCode.EXECUTE_ERROR_CODE_FORBIDDEN]: "forbidden",
  [ExecuteErrorCode.EXECUTE_ERROR_CODE_INVALID_ARGUMENT]: "invalid-argument",
  [ExecuteErrorCode.EXECUTE_ERROR_CODE_FAILED]: "failed",
  [ExecuteErrorCode.EXECUTE_ERROR_CODE_TIMEOUT]: "timeout",
};

export interface GrpcExecutor extends ExecutorInfo {
  address: string;
}

export class GrpcExecutorDirectory implements ExecutorDirectory {
  readonly #executors: GrpcExecutor[];
  readonly #clients = new Map<string, InstanceType<typeof ExecutorClient>>();

  constructor(executors: GrpcExecutor[]) {
    this.#executors = executors;
    for (const e of executors) {
      this.#clients.set(e.name, new ExecutorClient(e.address, grpc.credentials.createInsecure()));
    }
  }

  list(): ExecutorInfo[] {
    return this.#executors;
  }

  execute(
    name: string,
    request: Parameters<ExecutorDirectory["execute"]>[1],
    deadlineMs: number,
  ): Promise<ExecutorAnswer> {
    const client = this.#client(name);
    return new Promise((resolve, reject) => {
      client.execute(
        {
          command: request.command,
          args: request.args,
          prefix: request.prefix,
          configJson: "{}",
          context: { executorName: name, ...request.context },
        },
        new grpc.Metadata(),
        { deadline: Date.now() + deadlineMs },
        (err, response) => {
          if (err) return reject(callError(err));
          resolve({
            output: response.output,
            message: response.messageJson ? JSON.parse(response.messageJson) : undefined,
            errorCode: errorCodes[response.errorCode] ?? "failed",
            errorMessage: response.errorMessage,
          });
        },
      );
    });
  }

  help(name: string, deadlineMs: number): Promise<string> {
    const client = this.#client(name);
    return new Promise((resolve, reject) => {
      client.help(
        { configJson: "{}" },
        new grpc.Metadata(),
        { deadline: Date.now() + deadlineMs },
        (err, r) => (err ? reject(callError(err)) : resolve(r.text)),
      );
    });
  }

  close(): void {
    for (const client of this.#clients.values()) client.close();
  }

  #client(name: string): InstanceType<typeof ExecutorClient> {
    const client = this.#clients.get(name);
    if (!client) throw Object.assign(new Error(`no executor ${name}`), { code: "unavailable" });
    return client;
  }
}

function callError(err: grpc.ServiceError): Error {
  const code =
    err.code === grpc.status.DEADLINE_EXCEEDED
      ? "timeout"
      : err.code === grpc.status.UNAVAILABLE
        ? "unavailable"
        : "failed";
  return Object.assign(new Error(err.details || err.message), { code });
}
