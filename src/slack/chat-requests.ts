/**
 * A command asked for in Slack — a "patchbay.run" button under a notification, or a mention of the app —
 * run through the command dispatcher as the person who asked, under the notifier's executor limits, and
 * answered in the thread it came from with chat.postMessage. The same for Socket Mode envelopes and
 * for the HTTP Events API and interactivity endpoints, whose payloads are the same JSON.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { CommandRequest, CommandResult } from "../commands/index.ts";
import { formatReply, postReply } from "../ingress/chat/reply.ts";
import { refusedResponseUrl, type ResponseUrlPolicy } from "../ingress/chat/response-url.ts";
import type { Logger } from "../observability/logger.ts";
import { BUTTON_LIMITS, RUN_COMMAND_ACTION_ID } from "./buttons.ts";
import { RecentIds } from "./recent-ids.ts";
import type { SocketModeEnvelope } from "./socket-mode.ts";
import type { SlackWebApi } from "./web-api.ts";

/** An answer Slack refuses for now (a 429, a 5xx) is tried this often, waiting as Slack asks (at most 30 s). */
const MAX_POST_ATTEMPTS = 3;
const MAX_POST_WAIT_MS = 30_000;
const POST_TIMEOUT_MS = 10_000;

/** Slack caps a button's value at 2,000 characters; a longer one did not come from our buttons. */
const MAX_COMMAND_CHARS = BUTTON_LIMITS.value;

export interface SlackChatRequest {
  /** The command line; "" asks for the help. */
  command: string;
  /** The Slack user id of whoever clicked or mentioned. */
  user: string;
  channel: string;
  /** The thread the answer goes to: the message's thread, or the message itself. */
  threadTs: string;
}

/** A payload that is not what Slack sends: the HTTP endpoints answer 400 with the message. */
export class MalformedSlackPayload extends Error {
  override name = "MalformedSlackPayload";
}

export interface CommandRunner {
  dispatch(request: CommandRequest): Promise<CommandResult>;
}

export interface SlackChatRequestsOptions {
  /** The Notifier's name: passed to executors, and in logs. */
  notifier: string;
  commands: CommandRunner;
  /** Executor names this notifier's commands may use; undefined means all. */
  allowedExecutors?: readonly string[];
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
    const callback = record(body, "the event callback");
    const request = requestFromEventCallback(callback);
    if (!request) return;
    const eventId = typeof callback.event_id === "string" ? callback.event_id : "";
    if (eventId !== "" && !this.#events.firstSighting(eventId)) return;
    void this.answer(request);
  }

  /** Runs the command and posts the answer in the request's thread; failures are logged, never thrown. */
  async answer(request: SlackChatRequest): Promise<void> {
    const { notifier, commands, allowedExecutors, log } = this.#options;
    const command = request.command.trim() || "help";
    try {
      const result = await commands.dispatch({
        command,
        user: request.user,
        notifier,
        channel: request.channel,
        allowedExecutors,
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
    const slash = record(payload, "the slash command");
    const responseUrl = text(slash.response_url, "response_url");
    const user = text(slash.user_id, "user_id");
    const channel = typeof slash.channel_id === "string" ? slash.channel_id : "";
    const command = (typeof slash.text === "string" ? slash.text.trim() : "") || "help";
    let url: URL;
    try {
      url = new URL(responseUrl);
    } catch {
      throw new MalformedSlackPayload("response_url is not a URL");
    }
    const { notifier, commands, allowedExecutors, log } = this.#options;
    const policy = this.#options.responseUrls ?? {};
    const refusal = refusedResponseUrl(url, { platform: "slack" }, policy);
    if (refusal) {
      log.warn("Slack: a slash command's response_url was refused; not run", { notifier, reason: refusal });
      return;
    }
    void commands
      .dispatch({ command, user, notifier, channel, allowedExecutors })
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

/** The "patchbay.run" buttons of a block_actions payload; other interactions ask for nothing. */
export function requestsFromInteraction(payload: unknown): SlackChatRequest[] {
  const interaction = record(payload, "the interaction payload");
  if (interaction.type !== "block_actions") return [];
  const actions = interaction.actions;
  if (!Array.isArray(actions)) throw new MalformedSlackPayload("block_actions without an actions array");
  const runs = actions.filter((action) => record(action, "an action").action_id === RUN_COMMAND_ACTION_ID);
  if (runs.length === 0) return [];
  const user = text(record(interaction.user, "user").id, "user.id");
  // An ephemeral message comes without `message`; its container names it.
  const message = optionalRecord(interaction.message);
  const container = optionalRecord(interaction.container);
  const channel = text(
    optionalRecord(interaction.channel)?.id ?? container?.channel_id,
    "channel.id (or container.channel_id)",
  );
  const threadTs = text(
    message?.thread_ts ?? container?.thread_ts ?? message?.ts ?? container?.message_ts,
    "message.ts (or container.message_ts)",
  );
  return runs.map((action) => {
    const command = text((action as Record<string, unknown>).value, "the button's value");
    if (command.length > MAX_COMMAND_CHARS) {
      throw new MalformedSlackPayload(`a button's value is limited to ${MAX_COMMAND_CHARS} characters`);
    }
    return { command, user, channel, threadTs };
  });
}

/** An app_mention event (not one a bot wrote) as a request; other events ask for nothing. */
export function requestFromEventCallback(callback: Record<string, unknown>): SlackChatRequest | undefined {
  if (callback.type !== "event_callback") return undefined;
  const event = record(callback.event, "event");
  // A bot's message is never a command: answers that quote a mention must not start a loop.
  if (event.type !== "app_mention" || event.bot_id !== undefined) return undefined;
  const ts = text(event.ts, "event.ts");
  return {
    command: commandFromMention(typeof event.text === "string" ? event.text : ""),
    user: text(event.user, "event.user"),
    channel: text(event.channel, "event.channel"),
    threadTs: typeof event.thread_ts === "string" && event.thread_ts !== "" ? event.thread_ts : ts,
  };
}

/**
 * What follows the mention, as typed: Slack writes a mention as <@U…>, turns URLs and file-like names
 * into <url|label> links and escapes &, < and >; the command is the text the person saw.
 */
export function commandFromMention(message: string): string {
  const mention = /<@[A-Z0-9]+(?:\|[^>]*)?>/.exec(message);
  const rest = mention ? message.slice(mention.index + mention[0].length) : message;
  return rest
    .replace(/<((?:https?|mailto):[^|>]*)(?:\|([^>]*))?>/g, (_, url: string, label?: string) => label ?? url)
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&")
    .trim();
}

function record(value: unknown, what: string): Record<string, unknown> {
  const found = optionalRecord(value);
  if (!found) throw new MalformedSlackPayload(`${what} is not a JSON object`);
  return found;
}

function optionalRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function text(value: unknown, what: string): string {
  if (typeof value !== "string" || value === "") throw new MalformedSlackPayload(`${what} is missing`);
  return value;
}
