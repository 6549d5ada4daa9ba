/** The HTTP ingress: CloudEvents, source webhooks, commands and chat slash commands. */
export { createIngressApp } from "./app.ts";
export type { IngressDeps } from "./app.ts";
export { startIngress } from "./server.ts";
export type { IngressServerOptions, RunningIngress } from "./server.ts";
export type { CommandRunner } from "./context.ts";
export type { AuthConfig } from "./auth.ts";
export type { ErrorBody } from "./http-errors.ts";
export type { EventSink, ExternalRequest, ExternalResponse, SourceDirectory, SourceInfo } from "./ports.ts";
export type { ChatChannel, ChatChannels } from "./chat/ports.ts";
export { responseUrlPolicyFromEnv } from "./chat/response-url.ts";
export type { ResponseUrlPolicy } from "./chat/response-url.ts";
export { typeAllowed } from "./admission.ts";
