/** serveExecutor: a few functions in, a complete executor plugin process out. */
import type * as grpc from "@grpc/grpc-js";
import {
  ExecuteErrorCode,
  ExecutorService,
  PluginKind,
  type ExecuteContext,
  type ExecuteRequest,
  type ExecuteResponse,
  type HelpRequest,
  type HelpResponse,
} from "./protocol/index.ts";
import type { Logger } from "./logger.ts";
import type { ConfigValidator } from "./config.ts";
import { asGrpcError, validateConfig } from "./call-errors.ts";
import { servePlugin, type PluginMetadata, type RunningPlugin, type ServeOptions } from "./plugin-server.ts";

export type ExecuteErrorKind = "forbidden" | "invalid-argument" | "failed" | "timeout";

/** Throw this from `execute` to answer with an error the person who asked will read. */
export class ExecutorError extends Error {
  override name = "ExecutorError";
  readonly kind: ExecuteErrorKind;
  /** Output to show alongside the error, e.g. a failed command's stderr. */
  readonly output: string;

  constructor(kind: ExecuteErrorKind, message: string, output = "") {
    super(message);
    this.kind = kind;
    this.output = output;
  }
}

export interface Command<Config> {
  /** The whole command line, e.g. "kubectl get pods". */
  command: string;
  /** Split into words, prefix included; quotes honoured, nothing expanded. */
  args: string[];
  /** The prefix that selected this executor. */
  prefix: string;
  config: Config;
  context: ExecuteContext;
  /** Aborted when the caller's deadline passes or it goes away: stop work. */
  signal: AbortSignal;
  log: Logger;
}

/** A structured message for channels that render them (Slack blocks, Teams cards, …). */
export interface StructuredMessage {
  title?: string;
  sections?: { header?: string; text: string }[];
}

export type ExecuteResult = string | { output?: string; message?: StructuredMessage };

export interface ExecutorPlugin<Config = Record<string, unknown>> extends PluginMetadata {
  execute: (command: Command<Config>) => Promise<ExecuteResult> | ExecuteResult;
  help?: (config: Config) => Promise<string> | string;
}

const errorCodes: Record<ExecuteErrorKind, ExecuteErrorCode> = {
  forbidden: ExecuteErrorCode.EXECUTE_ERROR_CODE_FORBIDDEN,
  "invalid-argument": ExecuteErrorCode.EXECUTE_ERROR_CODE_INVALID_ARGUMENT,
  failed: ExecuteErrorCode.EXECUTE_ERROR_CODE_FAILED,
  timeout: ExecuteErrorCode.EXECUTE_ERROR_CODE_TIMEOUT,
};

export function serveExecutor<Config = Record<string, unknown>>(
  plugin: ExecutorPlugin<Config>,
  options?: ServeOptions,
): Promise<RunningPlugin> {
  return servePlugin(
    plugin,
    {
      kind: PluginKind.PLUGIN_KIND_EXECUTOR,
      serviceName: "patchbay.v1.Executor",
      definition: ExecutorService,
      implementation: (shared) => ({
        describe: shared.describe,
        execute: (
          call: grpc.ServerUnaryCall<ExecuteRequest, ExecuteResponse>,
          callback: grpc.sendUnaryData<ExecuteResponse>,
        ) => void execute(plugin, call, shared.config, shared.log).then((r) => callback(null, r), callback),
        help: (
          call: grpc.ServerUnaryCall<HelpRequest, HelpResponse>,
          callback: grpc.sendUnaryData<HelpResponse>,
        ) => void help(plugin, call.request, shared.config).then((r) => callback(null, r), callback),
      }),
      onShutdown: () => {},
    },
    options,
  );
}

async function execute<Config>(
  plugin: ExecutorPlugin<Config>,
  call: grpc.ServerUnaryCall<ExecuteRequest, ExecuteResponse>,
  validator: ConfigValidator,
  log: Logger,
): Promise<ExecuteResponse> {
  const request = call.request;
  const config = validateConfig(validator, request.configJson) as Config;
  const abort = new AbortController();
  call.on("cancelled", () => abort.abort());
  try {
    const result = await plugin.execute({
      command: request.command,
      args: request.args,
      prefix: request.prefix,
      config,
      context: request.context ?? { executorName: "", user: "", notifier: "", channel: "" },
      signal: abort.signal,
      log,
    });
    const { output = "", message } = typeof result === "string" ? { output: result } : result;
    return {
      output,
      messageJson: message ? JSON.stringify(message) : "",
      errorCode: ExecuteErrorCode.EXECUTE_ERROR_CODE_OK,
      errorMessage: "",
    };
  } catch (err) {
    if (err instanceof ExecutorError) {
      return {
        output: err.output,
        messageJson: "",
        errorCode: errorCodes[err.kind],
        errorMessage: err.message,
      };
    }
    log.warn("execute failed", { command: request.command, error: (err as Error).message });
    throw asGrpcError(err);
  }
}

async function help<Config>(
  plugin: ExecutorPlugin<Config>,
  request: HelpRequest,
  validator: ConfigValidator,
): Promise<HelpResponse> {
  const config = validateConfig(validator, request.configJson) as Config;
  return { text: plugin.help ? await plugin.help(config) : (plugin.description ?? "") };
}
