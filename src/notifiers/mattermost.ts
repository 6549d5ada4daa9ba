/**
 * Mattermost incoming webhook (https://developers.mattermost.com/integrate/webhooks/incoming/): one
 * message attachment with a colour, title, link, short fields and the data as a code block. The whole
 * payload stays under the 16383-character post limit.
 */
import type { CloudEvent } from "../events/cloudevent.ts";
import { post } from "./http.ts";
import { truncate, viewOf } from "./render.ts";
import type { DeliveryOutcome, NotifierSink } from "./sink.ts";

export const MATTERMOST_LIMITS = { post: 16383, title: 256, fieldValue: 1000 } as const;

export interface MattermostOptions {
  channel?: string;
  username?: string;
  iconUrl?: string;
}

export function renderMattermost(
  event: CloudEvent,
  options: MattermostOptions = {},
): Record<string, unknown> {
  const view = viewOf(event);
  const title = truncate(`${view.emoji} ${view.title}`, MATTERMOST_LIMITS.title);
  const attachment: Record<string, unknown> = {
    fallback: truncate(`${view.title} (${event.source}: ${event.type})`, MATTERMOST_LIMITS.title),
    color: view.colour,
    title,
    fields: view.fields.map((field) => ({
      short: true,
      title: field.name,
      value: truncate(field.value, MATTERMOST_LIMITS.fieldValue),
    })),
    footer: "patchbay",
  };
  if (view.link) attachment.title_link = view.link;
  const payload: Record<string, unknown> = { attachments: [attachment] };
  if (options.channel) payload.channel = options.channel;
  if (options.username) payload.username = options.username;
  if (options.iconUrl) payload.icon_url = options.iconUrl;
  if (view.data) {
    // Budget the code block from what the rest of the payload already takes, with room for JSON escaping.
    const used = JSON.stringify(payload).length + 64;
    const room = Math.floor((MATTERMOST_LIMITS.post - used) / 2);
    attachment.text = "```\n" + truncate(view.data, room) + "\n```";
    while (JSON.stringify(payload).length > MATTERMOST_LIMITS.post) {
      const current = attachment.text as string;
      attachment.text = "```\n" + truncate(current.slice(4, -4), Math.floor(current.length / 2)) + "\n```";
    }
  }
  return payload;
}

export class MattermostSink implements NotifierSink {
  readonly type = "mattermost";
  readonly #url: string;
  readonly #options: MattermostOptions;

  constructor(webhookUrl: string, options: MattermostOptions = {}) {
    this.#url = webhookUrl;
    this.#options = options;
  }

  deliver(event: CloudEvent, signal: AbortSignal): Promise<DeliveryOutcome> {
    const body = JSON.stringify(renderMattermost(event, this.#options));
    return post({ url: this.#url, headers: { "content-type": "application/json" }, body }, signal);
  }
}
