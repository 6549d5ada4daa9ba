/**
 * Discord webhook (https://discord.com/developers/docs/resources/webhook#execute-webhook): one embed
 * with the severity colour, fields and timestamp. Embed limits: title 256, description 4096, 25 fields
 * (name 256, value 1024), footer 2048, and 6000 characters across all of them. Mentions are disabled so
 * an event's text can never ping a channel.
 */
import type { CloudEvent } from "../events/cloudevent.ts";
import { post } from "./http.ts";
import { discord, discordAcceptsUrl, DISCORD_NO_MENTIONS, truncate } from "./markup.ts";
import { colourNumber, viewOf, type RenderOptions } from "./render.ts";
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

export function renderDiscord(
  event: CloudEvent,
  options: DiscordOptions & RenderOptions = {},
): Record<string, unknown> {
  const view = viewOf(event);
  const title = discord.text(`${view.emoji} ${view.title}`, DISCORD_LIMITS.title);
  const named = [...view.fields];
  // Discord refuses the whole message for an embed url it will not link: such a link is shown as text.
  const linkAsUrl = view.link !== undefined && discordAcceptsUrl(view.link) && !options.bare;
  if (view.link && !linkAsUrl) named.push({ name: "Link", value: view.link });
  const fields = named.slice(0, DISCORD_LIMITS.fields).map((field) => ({
    name: discord.text(field.name, DISCORD_LIMITS.fieldName),
    value: discord.text(field.value, DISCORD_LIMITS.fieldValue),
    inline: true,
  }));
  const used =
    title.length + FOOTER.length + fields.reduce((sum, f) => sum + f.name.length + f.value.length, 0);
  const room = Math.min(DISCORD_LIMITS.description, DISCORD_LIMITS.total - used);
  const embed: Record<string, unknown> = {
    title,
    color: colourNumber(view.colour),
    fields,
    footer: { text: FOOTER },
  };
  const fence = "```json\n\n```".length;
  if (view.data && room > fence + 1)
    embed.description = discord.codeBlock(view.data, room, { language: "json" });
  if (linkAsUrl) embed.url = view.link;
  const time = Date.parse(event.time);
  if (!Number.isNaN(time)) embed.timestamp = new Date(time).toISOString();
  const payload: Record<string, unknown> = { embeds: [embed], allowed_mentions: DISCORD_NO_MENTIONS };
  if (options.bare) return payload;
  // Discord refuses a display name containing "discord" or an avatar it cannot fetch: optional parts.
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
    return post(
      {
        url: this.#url,
        headers: { "content-type": "application/json" },
        body: JSON.stringify(renderDiscord(event, this.#options)),
        fallbackBody: JSON.stringify(renderDiscord(event, { ...this.#options, bare: true })),
      },
      signal,
    );
  }
}
