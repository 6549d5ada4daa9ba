/**
 * What each platform accepts and what it shows: validators written against the platforms' published
 * types (Slack Block Kit from @slack/types, Discord's webhook body from discord-api-types, Mattermost's
 * attachment checker from @mattermost/types, Microsoft's own Adaptive Cards parser), and models of how
 * each renders text (markdown, entities, mentions, code fences) for assertions on what a reader sees.
 */
import { createRequire } from "node:module";
import { isMessageAttachmentArray } from "@mattermost/types/message_attachments";
import type { KnownBlock, MessageAttachment, PlainTextElement, MrkdwnElement } from "@slack/types";
import type * as AdaptiveCardsModule from "adaptivecards";
import type { APIEmbed, RESTPostAPIWebhookWithTokenJSONBody } from "discord-api-types/v10";

// The package's ESM build imports without file extensions, which Node refuses; its UMD bundle loads.
const AdaptiveCards = createRequire(import.meta.url)(
  "adaptivecards/dist/adaptivecards.js",
) as typeof AdaptiveCardsModule;

// ---------------------------------------------------------------- what each platform accepts

/** Block Kit limits from https://api.slack.com/reference/block-kit/blocks (and @slack/types' docs). */
export function slackProblems(payload: unknown): string[] {
  const problems: string[] = [];
  const message = payload as { text?: unknown; attachments?: MessageAttachment[] };
  if (typeof message.text !== "string" || message.text.length > 40_000) problems.push("text");
  for (const attachment of message.attachments ?? []) {
    const blocks = (attachment.blocks ?? []) as KnownBlock[];
    if (blocks.length > 50) problems.push("more than 50 blocks");
    for (const block of blocks) problems.push(...slackBlockProblems(block));
  }
  return problems;
}

function slackBlockProblems(block: KnownBlock): string[] {
  const text = (object: PlainTextElement | MrkdwnElement | undefined, max: number, where: string) =>
    !object || !["plain_text", "mrkdwn"].includes(object.type) || !object.text || object.text.length > max
      ? [`${where}: ${object?.type} of ${object?.text.length} characters`]
      : [];
  switch (block.type) {
    case "header":
      return block.text.type === "plain_text" ? text(block.text, 150, "header") : ["header not plain_text"];
    case "section":
      return [
        ...(block.text ? text(block.text, 3000, "section text") : []),
        ...(block.fields && block.fields.length > 10 ? ["more than 10 fields"] : []),
        ...(block.fields ?? []).flatMap((field) => text(field, 2000, "section field")),
        ...(!block.text && !block.fields?.length ? ["empty section"] : []),
      ];
    case "actions": {
      const ids = block.elements.map((element) => element.action_id).filter((id) => id !== undefined);
      return [
        ...(block.elements.length > 25 ? ["more than 25 elements"] : []),
        ...(new Set(ids).size !== ids.length ? ["action_ids not unique in the block"] : []),
        ...block.elements.flatMap((element) =>
          element.type === "button"
            ? [
                ...text(element.text, 75, "button"),
                ...(element.url && (element.url.length > 3000 || !URL.canParse(element.url))
                  ? ["button url"]
                  : []),
                ...(element.value !== undefined && (element.value === "" || element.value.length > 2000)
                  ? ["button value"]
                  : []),
                ...(element.action_id !== undefined && element.action_id.length > 255 ? ["action_id"] : []),
              ]
            : [`unexpected element ${element.type}`],
        ),
      ];
    }
    case "context":
      return [
        ...(block.elements.length === 0 || block.elements.length > 10 ? ["context elements"] : []),
        ...block.elements.flatMap((element) =>
          element.type === "plain_text" || element.type === "mrkdwn"
            ? text(element, 3000, "context text")
            : [`unexpected context element ${element.type}`],
        ),
      ];
    default:
      return [`unexpected block ${block.type}`];
  }
}

/**
 * Discord's Execute Webhook body and embed limits, as documented on RESTPostAPIWebhookWithTokenJSONBody
 * and APIEmbed; an embed url Discord cannot link is the 400 `{"embeds": ["0"]}`.
 */
export function discordProblems(payload: unknown): string[] {
  const body = payload as RESTPostAPIWebhookWithTokenJSONBody;
  const problems: string[] = [];
  if (!body.allowed_mentions || (body.allowed_mentions.parse ?? ["everyone"]).length > 0)
    problems.push("mentions are allowed");
  if (body.username !== undefined && (body.username.length > 80 || /discord/i.test(body.username)))
    problems.push("username");
  const embeds: APIEmbed[] = body.embeds ?? [];
  if (embeds.length > 10) problems.push("more than 10 embeds");
  let total = 0;
  for (const embed of embeds) {
    const fields = embed.fields ?? [];
    if ((embed.title?.length ?? 0) > 256) problems.push("title");
    if ((embed.description?.length ?? 0) > 4096) problems.push("description");
    if (fields.length > 25) problems.push("more than 25 fields");
    for (const field of fields) {
      if (!field.name || field.name.length > 256) problems.push(`field name ${field.name}`);
      if (!field.value || field.value.length > 1024) problems.push(`field value of ${field.name}`);
    }
    if ((embed.footer?.text.length ?? 0) > 2048) problems.push("footer");
    if (embed.url !== undefined && !discordWouldLink(embed.url)) problems.push(`embed url ${embed.url}`);
    total +=
      (embed.title?.length ?? 0) +
      (embed.description?.length ?? 0) +
      (embed.footer?.text.length ?? 0) +
      fields.reduce((sum, field) => sum + field.name.length + field.value.length, 0);
  }
  if (total > 6000) problems.push(`embeds total ${total} characters`);
  return problems;
}

/** Discord answers 400 to an embed url without a dotted host (gitea #11124, bugsink #280). */
export function discordWouldLink(url: string): boolean {
  if (!URL.canParse(url)) return false;
  const { protocol, hostname } = new URL(url);
  return (protocol === "http:" || protocol === "https:") && hostname.includes(".");
}

/** Mattermost's own attachment checker, and its 16383-character post limit. */
export function mattermostProblems(payload: unknown): string[] {
  const body = payload as { attachments?: unknown };
  const problems: string[] = [];
  if (!isMessageAttachmentArray(body.attachments)) problems.push("not a MessageAttachment[]");
  if (JSON.stringify(payload).length > 16_383) problems.push("over the post limit");
  return problems;
}

/** Microsoft's Adaptive Cards parser at schema 1.5: every parse or validation event is a problem. */
export function teamsProblems(payload: unknown): string[] {
  const message = payload as { type?: string; attachments?: { contentType: string; content: unknown }[] };
  const problems: string[] = [];
  if (message.type !== "message") problems.push("not a message");
  if (Buffer.byteLength(JSON.stringify(payload)) > 28_000) problems.push("over 28 KB");
  for (const attachment of message.attachments ?? []) {
    if (attachment.contentType !== "application/vnd.microsoft.card.adaptive") problems.push("content type");
    const card = new AdaptiveCards.AdaptiveCard();
    const context = new AdaptiveCards.SerializationContext(AdaptiveCards.Versions.v1_5);
    card.parse(attachment.content, context);
    for (let i = 0; i < context.eventCount; i++) problems.push(context.getEventAt(i).message);
    for (const event of card.validateProperties().validationEvents) problems.push(event.message);
  }
  return problems;
}

// ---------------------------------------------------------------- what each platform shows

/**
 * What a CommonMark-style renderer (Discord, Mattermost, Adaptive Cards) shows for `text`, when it
 * shows it as written; undefined when any character would start formatting, a link or a mention tag.
 */
export function markdownShownAsWritten(text: string): string | undefined {
  let shown = "";
  let lineStart = true;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char === "\\" && i + 1 < text.length && /[!-/:-@[-`{-~]/.test(text[i + 1]!)) {
      shown += text[++i];
      lineStart = false;
      continue;
    }
    if ("*_~`[]|<\\".includes(char)) return undefined;
    if (lineStart && /^\s*([#>+=-]|\d+[.)])/.test(text.slice(i).split("\n")[0]!)) return undefined;
    shown += char;
    lineStart = char === "\n";
  }
  return shown;
}

/** Slack decodes these three entities everywhere, mrkdwn or not. */
export function slackShows(text: string): string {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

/** `<!here>`, `<!channel>`, `<@U…>`, `<#C…>` and `<http…|…>` are live in Slack text: a raw `<` is one. */
export function slackHasControlSequence(text: string): boolean {
  return text.includes("<") || text.includes(">") || /&(?!amp;|lt;|gt;)/.test(text);
}

/** Mattermost pings for these outside code (it strips code blocks and inline code before looking). */
export function mattermostPings(text: string): boolean {
  const outsideCode = text.replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "");
  return /(^|[^\p{L}\p{N}_.-])@(channel|here|all|[\p{L}\p{N}_]+)/iu.test(outsideCode);
}

/**
 * The content of a text that is one code block from its first character to its last, as Slack,
 * Discord and Mattermost see it (the first ``` after the opening one ends it); undefined otherwise.
 */
export function codeBlockContent(text: string): string | undefined {
  const opening = /^```[a-z]*\n/.exec(text);
  if (!opening) return undefined;
  const close = text.indexOf("```", opening[0].length);
  if (close !== text.length - 3) return undefined;
  return text.slice(opening[0].length, close).replace(/\n$/, "");
}

/** A lone surrogate is what a cut through an emoji leaves: shown as � or refused. */
export function hasLoneSurrogate(text: string): boolean {
  return /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

/** Whether `shown` is `original`, or a prefix of it made of whole graphemes followed by "…". */
export function isWholeGraphemePrefix(original: string, shown: string): boolean {
  if (shown === original) return true;
  if (!shown.endsWith("…")) return false;
  const kept = shown.slice(0, -1);
  if (!original.startsWith(kept)) return false;
  const boundaries = new Set(
    [...new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(original)].map((s) => s.index),
  );
  return boundaries.has(kept.length);
}
