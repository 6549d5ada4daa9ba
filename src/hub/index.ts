export { PluginHub } from "./hub.ts";
export type {
  CommandAnswer,
  CommandRequest,
  ExecuteOutcome,
  ExternalRequestAnswer,
  ExternalRequestInput,
  HubOptions,
} from "./hub.ts";
export type { PluginTarget, ConnectionTimings } from "./connection.ts";
export { PluginCallError, type CallFailure } from "./calls.ts";
export type { IngressPolicy, PluginDescription, PluginKindName, PluginPhase, PluginState } from "./state.ts";
