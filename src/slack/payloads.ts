/**
 * What Slack's payloads ask for: a block_actions interaction's "patchbay.run" buttons, an app_mention
 * event's command, each with the user who asked, the channel and the thread the answer belongs in. The
 * same JSON arrives over Socket Mode and over the HTTP endpoints; anything else Slack sends asks for
 * nothing, and what Slack would never send is a MalformedSlackPayload.
 */
import { BUTTON_LIMITS, isRunCommandAction } from "./buttons.ts";

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
/** The "patchbay.run" buttons of a block_actions payload; other interactions ask for nothing. */
export function requestsFromInteraction(payload: unknown): SlackChatRequest[] {
  const interaction = record(payload, "the interaction payload");
  if (interaction.type !== "block_actions") return [];
  const actions = interaction.actions;
  if (!Array.isArray(actions)) throw new MalformedSlackPayload("block_actions without an actions array");
  const runs = actions.filter((action) => isRunCommandAction(record(action, "an action").action_id));
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

/** A mention, with the Events API's event_id (Slack retries an event with the same id; "" when absent). */
export interface MentionRequest extends SlackChatRequest {
  eventId: string;
}

/** An app_mention event (not one a bot wrote) as a request; other callbacks ask for nothing. */
export function requestFromEventCallback(body: unknown): MentionRequest | undefined {
  const callback = record(body, "the event callback");
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
    eventId: typeof callback.event_id === "string" ? callback.event_id : "",
  };
}

/** A slash command: the fields Slack posts to a slash command's URL, which Socket Mode sends as JSON. */
export interface SlashCommandRequest {
  /** The text after the command; "" asks for the help. */
  command: string;
  user: string;
  channel: string;
  responseUrl: URL;
}

export function slashCommandRequest(payload: unknown): SlashCommandRequest {
  const slash = record(payload, "the slash command");
  let responseUrl: URL;
  try {
    responseUrl = new URL(text(slash.response_url, "response_url"));
  } catch (err) {
    if (err instanceof MalformedSlackPayload) throw err;
    throw new MalformedSlackPayload("response_url is not a URL");
  }
  return {
    command: typeof slash.text === "string" ? slash.text.trim() : "",
    user: text(slash.user_id, "user_id"),
    channel: typeof slash.channel_id === "string" ? slash.channel_id : "",
    responseUrl,
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
