/**
 * Mattermost incoming webhook (https://developers.mattermost.com/integrate/webhooks/incoming/): one
 * message attachment with a colour, title, link, short fields and the data as a code block. The whole
 * payload stays under the 16383-character post limit. Text outside the code block is markdown-escaped
 * and its `@channel`, `@here`, `@all` and `@name` ping nobody.
 */
import type { CloudEvent } from "../events/cloudevent.ts";
import { post } from "./http.ts";
import { mattermost } from "./markup.ts";
import { viewOf, type RenderOptions } from "./render.ts";
import type { DeliveryOutcome, NotifierSink } from "./sink.ts";

export const MATTERMOST_LIMITS = { post: 16383, title: 256, fieldValue: 1000 } as const;

export interface MattermostOptions {
  channel?: string;
  username?: string;
  iconUrl?: string;
}

export function renderMattermost(
  event: CloudEvent,
  options: MattermostOptions & RenderOptions = {},
): Record<string, unknown> {
  const view = viewOf(event);
  const title = mattermost.text(`${view.emoji} ${view.title}`, MATTERMOST_LIMITS.title);
  const attachment: Record<string, unknown> = {
    fallback: mattermost.plain(`${view.title} (${event.source}: ${event.type})`, MATTERMOST_LIMITS.title),
    color: view.colour,
    title,
    fields: view.fields.map((field) => ({
      short: true,
      title: field.name,
      value: mattermost.text(field.value, MATTERMOST_LIMITS.fieldValue),
    })),
    footer: "patchbay",
  };
  if (view.link && !options.bare) attachment.title_link = view.link;
  const payload: Record<string, unknown> = { attachments: [attachment] };
  // A wrong channel must fail rather than post elsewhere: the channel is not an optional part.
  if (options.channel) payload.channel = options.channel;
  if (options.username && !options.bare) payload.username = options.username;
  if (options.iconUrl && !options.bare) payload.icon_url = options.iconUrl;
  if (view.data) {
    // Budget the code block from what the rest of the payload already takes, with room for JSON escaping.
    const used = JSON.stringify(payload).length + 64;
    let room = Math.floor((MATTERMOST_LIMITS.post - used) / 2);
    attachment.text = mattermost.codeBlock(view.data, room);
    while (JSON.stringify(payload).length > MATTERMOST_LIMITS.post) {
      room = Math.floor(room / 2);
      attachment.text = mattermost.codeBlock(view.data, room);
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
    return post(
      {
        url: this.#url,
        headers: { "content-type": "application/json" },
        body: JSON.stringify(renderMattermost(event, this.#options)),
        fallbackBody: JSON.stringify(renderMattermost(event, { ...this.#options, bare: true })),
      },
      signal,
    );
  }
}
