/** What every route handler gets: the ports, the limits and the shared machinery. */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { CommandRequest, CommandResult } from "../commands/index.ts";
import type { Authenticator } from "./auth.ts";
import type { ChatChannels } from "./chat/ports.ts";
import type { ResponseUrlPolicy } from "./chat/response-url.ts";
import type { SlackReplayCache } from "./chat/verify.ts";
import type { LogThrottle } from "./log-throttle.ts";
import type { IngressMetrics } from "./metrics.ts";
import type { EventSink, SourceDirectory } from "./ports.ts";

/** The command dispatcher, as the ingress uses it (src/commands' CommandDispatcher fits). */
export interface CommandRunner {
  dispatch(request: CommandRequest): Promise<CommandResult>;
}

export interface IngressContext {
  sources: SourceDirectory;
  sink: EventSink;
  commands: CommandRunner | undefined;
  chat: ChatChannels | undefined;
  authenticate: Authenticator;
  maxBodyBytes: number;
  externalRequestTimeoutMs: number;
  chatReplyTimeoutMs: number;
  /** Where chat answers may be posted. */
  responseUrls: ResponseUrlPolicy;
  /** Slack request signatures already accepted, so a replay within the window is refused. */
  slackReplays: SlackReplayCache;
  metrics: IngressMetrics;
  log: LogThrottle;
}

export type Handler = (ctx: IngressContext, req: IncomingMessage, res: ServerResponse) => Promise<void>;
