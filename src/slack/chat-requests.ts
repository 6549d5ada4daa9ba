/**
 * A command asked for in Slack — a "patchbay.run" button under a notification, or a mention of the app —
 * run through the command dispatcher as the person who asked, under the notifier's executor limits, and
 * answered in the thread it came from with chat.postMessage. The same for Socket Mode envelopes and
 * for the HTTP Events API and interactivity endpoints, whose payloads are the same JSON (payloads.ts
 * reads them). Slash commands that arrive over Socket Mode are answered through their response_url.
 */
import { setTimeout as sleep } from "node:timers/promises";
import {
  resolveAccess,
  type CommandAccessConfig,
  type CommandRequest,
  type CommandResult,
} from "../commands/index.ts";
import { formatReply, postReply } from "../ingress/chat/reply.ts";
import { refusedResponseUrl, type ResponseUrlPolicy } from "../ingress/chat/response-url.ts";
import type { Logger } from "../observability/logger.ts";
import {
  requestFromEventCallback,
  requestsFromInteraction,
  slashCommandRequest,
  type SlackChatRequest,
} from "./payloads.ts";
import { RecentIds } from "./recent-ids.ts";
import type { SocketModeEnvelope } from "./socket-mode.ts";
import type { SlackWebApi } from "./web-api.ts";

/** An answer Slack refuses for now (a 429, a 5xx) is tried this often, waiting as Slack asks (at most 30 s). */
const MAX_POST_ATTEMPTS = 3;
const MAX_POST_WAIT_MS = 30_000;
const POST_TIMEOUT_MS = 10_000;

export interface CommandRunner {
  dispatch(request: CommandRequest): Promise<CommandResult>;
}

export interface SlackChatRequestsOptions {
  /** The Notifier's name: passed to executors, and in logs. */
  notifier: string;
  commands: CommandRunner;
  /** Executor names this notifier's commands may use; undefined means all. */
  allowedExecutors?: readonly string[];
  /** Who may use which executors (spec.commands.access); a Slack rule names user ids. */
  access?: CommandAccessConfig;
  /** The Web API with the notifier's bot token: chat.postMessage. */
  api: Pick<SlackWebApi, "call">;
  /** Where a slash command's answer may be posted (its response_url); default Slack's hooks.slack.com. */
  responseUrls?: ResponseUrlPolicy;
  log: Logger;
}

export class SlackChatRequests {
  readonly #options: SlackChatRequestsOptions;
  /** Events API event ids already handled: Slack retries an event over HTTP with the same event_id. */
  readonly #events = new RecentIds();
  /** Aborted by close(): answers still waiting to be posted give up. */
  readonly #closing = new AbortController();

  constructor(options: SlackChatRequestsOptions) {
    this.#options = options;
  }

  /** A Socket Mode envelope, already acknowledged; the commands it asks for run in the background. */
  handleEnvelope(envelope: SocketModeEnvelope): void {
    try {
      if (envelope.type === "interactive") this.handleInteraction(envelope.payload);
      else if (envelope.type === "events_api") this.handleEventCallback(envelope.payload);
      else if (envelope.type === "slash_commands") this.#handleSlashCommand(envelope.payload);
    } catch (err) {
      this.#options.log.warn("Slack: an envelope's payload is not what Slack sends; ignored", {
        notifier: this.#options.notifier,
        type: envelope.type,
        error: (err as Error).message,
      });
    }
  }

  /** An interactivity payload: each "patchbay.run" button clicked runs. Throws MalformedSlackPayload. */
  handleInteraction(payload: unknown): void {
    for (const request of requestsFromInteraction(payload)) void this.answer(request);
  }

  /** An Events API callback: an app_mention runs, once per event_id. Throws MalformedSlackPayload. */
  handleEventCallback(body: unknown): void {
    const request = requestFromEventCallback(body);
    if (!request) return;
    if (request.eventId !== "" && !this.#events.firstSighting(request.eventId)) return;
    void this.answer(request);
  }

  /** Runs the command and posts the answer in the request's thread; failures are logged, never thrown. */
  async answer(request: SlackChatRequest): Promise<void> {
    const { notifier, commands, allowedExecutors, access, log } = this.#options;
    const command = request.command.trim() || "help";
    try {
      const result = await commands.dispatch({
        command,
        user: request.user,
        notifier,
        channel: request.channel,
        allowedExecutors,
        access: resolveAccess(access, [request.user]),
      });
      const { text, blocks } = formatReply("slack", command, result);
      await this.#post({
        channel: request.channel,
        thread_ts: request.threadTs,
        text,
        ...(blocks ? { blocks } : {}),
        unfurl_links: false,
        unfurl_media: false,
      });
    } catch (err) {
      log.warn("Slack: could not answer a command in its thread", {
        notifier,
        channel: request.channel,
        error: (err as Error).message,
      });
    }
  }

  /**
   * With Socket Mode on, Slack sends the app's slash commands over the socket instead of to the HTTP
   * endpoint: the same fields, as JSON. Answered, as over HTTP, through the response_url.
   */
  #handleSlashCommand(payload: unknown): void {
    const { user, channel, responseUrl: url, ...slash } = slashCommandRequest(payload);
    const command = slash.command || "help";
    const { notifier, commands, allowedExecutors, access, log } = this.#options;
    const policy = this.#options.responseUrls ?? {};
    const refusal = refusedResponseUrl(url, { platform: "slack" }, policy);
    if (refusal) {
      log.warn("Slack: a slash command's response_url was refused; not run", { notifier, reason: refusal });
      return;
    }
    void commands
      .dispatch({
        command,
        user,
        notifier,
        channel,
        allowedExecutors,
        access: resolveAccess(access, [user]),
      })
      .then((result) => postReply(url.href, formatReply("slack", command, result), POST_TIMEOUT_MS, policy))
      .then(
        ({ ok, detail }) => {
          if (!ok) log.warn("Slack: could not post a slash command's answer", { notifier, error: detail });
        },
        (err: unknown) =>
          log.warn("Slack: a slash command failed", { notifier, error: (err as Error).message }),
      );
  }

  /** Answers not yet posted are given up (their commands may still finish). */
  close(): void {
    this.#closing.abort(new Error("the notifier was changed or Patchbay is stopping"));
  }

  async #post(body: Record<string, unknown>): Promise<void> {
    const closing = this.#closing.signal;
    for (let attempt = 1; ; attempt++) {
      const signal = AbortSignal.any([closing, AbortSignal.timeout(POST_TIMEOUT_MS)]);
      const result = await this.#options.api.call("chat.postMessage", body, signal);
      if (result.kind === "ok") return;
      if (result.kind === "permanent" || attempt >= MAX_POST_ATTEMPTS || closing.aborted) {
        throw new Error(result.reason);
      }
      await sleep(Math.min(result.retryAfterMs ?? 1_000, MAX_POST_WAIT_MS), undefined, { signal: closing });
    }
  }
}
