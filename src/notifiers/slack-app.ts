/**
 * Slack as an app: posts with a bot token through the Web API (chat.postMessage, chat.update), so that
 * the events about one thing (threads.ts) share a thread — the first is the root, the later ones reply
 * to it, and the one that resolves it (a resolved alert) turns the root green and replies too. An event
 * about a Kubernetes object offers a "Describe" button that runs `kubectl describe` (object-commands.ts);
 * clicks are handled by the interactive side, not here.
 *
 * Messages are the webhook mode's Block Kit rendering (slack.ts) within the same limits; `text` is the
 * notification and fallback text.
 */
import type { CloudEvent } from "../events/cloudevent.ts";
import { runCommandButton } from "../slack/buttons.ts";
import type { SlackCallResult, SlackWebApi } from "../slack/web-api.ts";
import { slack } from "./markup.ts";
import { describeCommandOf } from "./object-commands.ts";
import { offersOf } from "./offers.ts";
import { DELIVERED, type DeliveryOutcome, type NotifierSink } from "./sink.ts";
import type { RenderOptions } from "./render.ts";
import { SLACK_LIMITS, slackMessage, type SlackBlock, type SlackMessage } from "./slack.ts";
import { ThreadRoots, type ThreadStore } from "./thread-roots.ts";
import { threadKeyOf } from "./threads.ts";

/** Slack's green (https://slack.com/media-kit), for a root whose thread is resolved. */
export const RESOLVED_COLOUR = "#2eb67d";

/** A thread's root message: chat.update needs the channel's ID, which Slack returns, not its name. */
export interface SlackThreadRoot {
  channel: string;
  ts: string;
}

/** Slack's answers that mean the root message is gone (deleted, or never ours): start a new thread. */
const ROOT_GONE = new Set(["thread_not_found", "message_not_found", "cant_update_message"]);

export interface SlackAppOptions {
  api: SlackWebApi;
  /** Channel ID or name. */
  channel: string;
  /** Shared by the sinks of one process so a reconfigured notifier keeps its threads. */
  threads?: ThreadStore<SlackThreadRoot>;
}

/**
 * The message for an event: the Block Kit rendering plus its buttons — Describe for a Kubernetes object,
 * and one per command an Action offers (offers.ts).
 */
export function renderSlackApp(event: CloudEvent, options: RenderOptions = {}): SlackMessage {
  const message = slackMessage(event, options);
  if (options.bare) return message;
  const describe = describeCommandOf(event);
  const buttons = [
    describe ? runCommandButton("Describe", describe) : undefined,
    // A block's action_ids must differ: the offers get their own.
    ...offersOf(event).map((offer, i) => runCommandButton(offer.label, offer.command, i + 1)),
  ].filter((button) => button !== undefined);
  if (buttons.length === 0) return message;
  const blocks = message.attachments[0].blocks;
  const actions = blocks.find((block) => block.type === "actions");
  if (actions) (actions.elements as unknown[]).push(...buttons);
  else if (blocks.length < SLACK_LIMITS.blocks) blocks.push({ type: "actions", elements: buttons });
  return message;
}

/** The root of a resolved thread: the resolving event's rendering, marked resolved, in green. */
export function renderResolvedRoot(event: CloudEvent, options: RenderOptions = {}): SlackMessage {
  const message = renderSlackApp(event, options);
  const when = typeof event.time === "string" && event.time !== "" ? ` at ${event.time}` : "";
  const marker: SlackBlock = {
    type: "context",
    elements: [
      { type: "plain_text", text: slack.plain(`✅ Resolved${when}`, SLACK_LIMITS.fieldText), emoji: true },
    ],
  };
  const [attachment] = message.attachments;
  return {
    ...message,
    text: slack.text(`Resolved: ${message.text}`, SLACK_LIMITS.fallbackText),
    attachments: [
      { color: RESOLVED_COLOUR, blocks: [marker, ...attachment.blocks].slice(0, SLACK_LIMITS.blocks) },
    ],
  };
}

export class SlackAppSink implements NotifierSink {
  readonly type = "slack";
  readonly #api: SlackWebApi;
  readonly #channel: string;
  readonly #threads: ThreadStore<SlackThreadRoot>;

  constructor(options: SlackAppOptions) {
    this.#api = options.api;
    this.#channel = options.channel;
    this.#threads = options.threads ?? new ThreadRoots();
  }

  async deliver(event: CloudEvent, signal: AbortSignal): Promise<DeliveryOutcome> {
    const thread = threadKeyOf(event);
    if (!thread) return outcomeOf(await this.#post(event, undefined, signal));
    // Threads are per channel: two notifiers posting the same event to two channels each get one.
    const key = `${this.#channel}\n${thread.key}`;
    const root = await this.#threads.get(key);
    if (root) {
      const answered = thread.resolves
        ? await this.#resolve(root, event, signal)
        : await this.#post(event, root, signal);
      if (!(answered.kind === "permanent" && ROOT_GONE.has(answered.error))) {
        if (answered.kind === "ok" && thread.resolves) await this.#threads.delete(key);
        return outcomeOf(answered);
      }
      await this.#threads.delete(key);
    }
    const posted = await this.#post(event, undefined, signal);
    // A resolution without a known root stands alone: there is nothing left to thread under it.
    if (posted.kind === "ok" && !thread.resolves) {
      const channel = posted.body.channel;
      const ts = posted.body.ts;
      if (typeof channel === "string" && typeof ts === "string")
        await this.#threads.set(key, { channel, ts });
    }
    return outcomeOf(posted);
  }

  /** Marks the root resolved, then replies in its thread; chat.update is idempotent, so a retry may repeat it. */
  async #resolve(root: SlackThreadRoot, event: CloudEvent, signal: AbortSignal): Promise<SlackCallResult> {
    const place = { channel: root.channel, ts: root.ts };
    const updated = await this.#call(
      "chat.update",
      place,
      (options) => renderResolvedRoot(event, options),
      signal,
    );
    if (updated.kind !== "ok") return updated;
    return this.#post(event, root, signal);
  }

  #post(event: CloudEvent, root: SlackThreadRoot | undefined, signal: AbortSignal): Promise<SlackCallResult> {
    const place: Record<string, string> = root
      ? { channel: root.channel, thread_ts: root.ts }
      : { channel: this.#channel };
    return this.#call("chat.postMessage", place, (options) => renderSlackApp(event, options), signal);
  }

  /**
   * Sends the full message and, if Slack refuses its blocks, once more without the optional parts (the
   * link and the buttons), as the webhook mode does on a 400: only a refused bare message is permanent.
   */
  async #call(
    method: string,
    place: Record<string, string>,
    render: (options: RenderOptions) => SlackMessage,
    signal: AbortSignal,
  ): Promise<SlackCallResult> {
    const full = await this.#api.call(method, { ...place, ...render({}) }, signal);
    if (!(full.kind === "permanent" && full.error === "invalid_blocks")) return full;
    const bare = await this.#api.call(method, { ...place, ...render({ bare: true }) }, signal);
    if (bare.kind !== "permanent") return bare;
    return { ...bare, reason: `${full.reason}; without its optional parts: ${bare.reason}` };
  }
}

function outcomeOf(result: SlackCallResult): DeliveryOutcome {
  switch (result.kind) {
    case "ok":
      return DELIVERED;
    case "retry":
      return result.retryAfterMs === undefined
        ? { kind: "retry", reason: result.reason }
        : { kind: "retry", reason: result.reason, retryAfterMs: result.retryAfterMs };
    case "permanent":
      return { kind: "permanent", reason: result.reason };
  }
}
