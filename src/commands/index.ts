/** Command dispatch: a command line in, one executor's answer (or a clear refusal) out. */
export {
  CommandDispatcher,
  DEFAULT_MAX_CONCURRENT_PER_EXECUTOR,
  DEFAULT_MAX_WAITING_PER_EXECUTOR,
} from "./dispatcher.ts";
export type { CommandRequest, CommandResult, CommandStatus, DispatcherOptions } from "./dispatcher.ts";
export { parseCommandLine } from "./command-line.ts";
export type { ParsedLine, Word } from "./command-line.ts";
export type { ExecutorAnswer, ExecutorDirectory, ExecutorInfo } from "./ports.ts";
export { accessRefusal, resolveAccess } from "./access.ts";
export type { AccessRule, CommandAccessConfig, Impersonation, PersonAccess } from "./access.ts";
