/**
 * Discord webhook (https://discord.com/developers/docs/resources/webhook#execute-webhook): one embed
 * with the severity colour, fields and timestamp. Embed limits: title 256, description 4096, 25 fields
 * (name 256, value 1024), footer 2048, and 6000 characters across all of them. Mentions are disabled so
 * an event's text can never ping a channel.
 */
import type { CloudEvent } from "../events/cloudevent.ts";
import { post } from "./http.ts";
import { colourNumber, truncate, viewOf } from "./render.ts";
import type { DeliveryOutcome, NotifierSink } from "./sink.ts";

export const DISCORD_LIMITS = {
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
  total: 6000,
  username: 80,
} as const;

export interface DiscordOptions {
  username?: string;
  avatarUrl?: string;
}

const FOOTER = "patchbay";

export function renderDiscord(event: CloudEvent, options: DiscordOptions = {}): Record<string, unknown> {
  const view = viewOf(event);
  const title = truncate(`${view.emoji} ${view.title}`, DISCORD_LIMITS.title);
  const fields = view.fields.slice(0, DISCORD_LIMITS.fields).map((field) => ({
    name: truncate(field.name, DISCORD_LIMITS.fieldName),
    value: truncate(field.value, DISCORD_LIMITS.fieldValue),
    inline: true,
  }));
  const used =
    title.length + FOOTER.length + fields.reduce((sum, f) => sum + f.name.length + f.value.length, 0);
  const fence = "```json\n\n```".length;
  const room = Math.min(DISCORD_LIMITS.description, DISCORD_LIMITS.total - used) - fence;
  const embed: Record<string, unknown> = {
    title,
    color: colourNumber(view.colour),
    fields,
    footer: { text: FOOTER },
  };
  if (view.data && room > 1) embed.description = "```json\n" + truncate(view.data, room) + "\n```";
  if (view.link) embed.url = view.link;
  const time = Date.parse(event.time);
  if (!Number.isNaN(time)) embed.timestamp = new Date(time).toISOString();
  const payload: Record<string, unknown> = { embeds: [embed], allowed_mentions: { parse: [] } };
  if (options.username) payload.username = truncate(options.username, DISCORD_LIMITS.username);
  if (options.avatarUrl) payload.avatar_url = options.avatarUrl;
  return payload;
}

export class DiscordSink implements NotifierSink {
  readonly type = "discord";
  readonly #url: string;
  readonly #options: DiscordOptions;

  constructor(webhookUrl: string, options: DiscordOptions = {}) {
    this.#url = webhookUrl;
    this.#options = options;
  }

  deliver(event: CloudEvent, signal: AbortSignal): Promise<DeliveryOutcome> {
    const body = JSON.stringify(renderDiscord(event, this.#options));
    return post({ url: this.#url, headers: { "content-type": "application/json" }, body }, signal);
  }
}
