/**
 * The Patchbay plugin SDK — what plugin authors import as `@patchbay/sdk`.
 *
 *   import { serveExecutor } from "@patchbay/sdk";
 *   await serveExecutor({ name: "echo", version: "1.0.0", execute: ({ args }) => args.slice(1).join(" ") });
 */
export { serveSource } from "./source.ts";
export type {
  SourcePlugin,
  StreamContext,
  IncomingRequest,
  RequestContext,
  RequestResult,
} from "./source.ts";
export { serveExecutor, ExecutorError } from "./executor.ts";
export type {
  ExecutorPlugin,
  Command,
  ExecuteResult,
  ExecuteErrorKind,
  StructuredMessage,
} from "./executor.ts";
export type { SourceEvent } from "./events.ts";
export type { PluginMetadata, RunningPlugin, ServeOptions } from "./plugin-server.ts";
export { compileConfigSchema, ConfigError } from "./config.ts";
export type { ConfigValidator, JsonSchema } from "./config.ts";
export type { Logger, LogLevel } from "./logger.ts";
export type { Severity } from "./events.ts";
