/**
 * Slack incoming webhook: Block Kit blocks inside an attachment, whose `color` draws the severity bar.
 * Limits (https://api.slack.com/reference/block-kit/blocks): 50 blocks, header text 150 chars, section
 * text 3000, 10 section fields of 2000, button text 75, URLs 3000.
 *
 * mrkdwn cannot escape `*`, `_`, `~` or backticks, so names (which may read `ns/*bold*_x_`) go in
 * plain_text objects, and the top-level text is sent with `mrkdwn: false`; only the data, in a code
 * block, is mrkdwn.
 */
import type { CloudEvent } from "../events/cloudevent.ts";
import { post } from "./http.ts";
import { slack } from "./markup.ts";
import { viewOf, type RenderOptions } from "./render.ts";
import type { DeliveryOutcome, NotifierSink } from "./sink.ts";

export const SLACK_LIMITS = {
  blocks: 50,
  headerText: 150,
  sectionText: 3000,
  fields: 10,
  fieldText: 2000,
  buttonText: 75,
  url: 3000,
  fallbackText: 3000,
} as const;

/** A Block Kit block, loosely typed: its shape depends on its type. */
export type SlackBlock = { type: string } & Record<string, unknown>;

/** What renderSlack produces: the fallback text, and the blocks inside one attachment with the colour bar. */
export interface SlackMessage {
  text: string;
  mrkdwn: false;
  attachments: [{ color: string; blocks: SlackBlock[] }];
}

export function renderSlack(event: CloudEvent, options: RenderOptions = {}): Record<string, unknown> {
  return { ...slackMessage(event, options) };
}

/** renderSlack, typed, for the Slack app mode (slack-app.ts) to add to. */
export function slackMessage(event: CloudEvent, options: RenderOptions = {}): SlackMessage {
  const view = viewOf(event);
  const blocks: SlackBlock[] = [
    {
      type: "header",
      text: {
        type: "plain_text",
        text: slack.plain(`${view.emoji} ${view.title}`, SLACK_LIMITS.headerText),
        emoji: true,
      },
    },
    {
      type: "section",
      fields: view.fields.slice(0, SLACK_LIMITS.fields).map((field) => ({
        type: "plain_text",
        text: slack.plain(`${field.name}\n${field.value}`, SLACK_LIMITS.fieldText),
        // `:name:` in a name is text, not an emoji shortcode.
        emoji: false,
      })),
    },
  ];
  if (view.data) {
    blocks.push({
      type: "section",
      text: { type: "mrkdwn", text: slack.codeBlock(view.data, SLACK_LIMITS.sectionText) },
    });
  }
  if (view.link && view.link.length <= SLACK_LIMITS.url && !options.bare) {
    blocks.push({
      type: "actions",
      elements: [{ type: "button", text: { type: "plain_text", text: "Open" }, url: view.link }],
    });
  }
  return {
    text: slack.text(`${view.title} (${event.source}: ${event.type})`, SLACK_LIMITS.fallbackText),
    mrkdwn: false,
    attachments: [{ color: view.colour, blocks: blocks.slice(0, SLACK_LIMITS.blocks) }],
  };
}

export class SlackSink implements NotifierSink {
  readonly type = "slack";
  readonly #url: string;

  constructor(webhookUrl: string) {
    this.#url = webhookUrl;
  }

  deliver(event: CloudEvent, signal: AbortSignal): Promise<DeliveryOutcome> {
    return post(
      {
        url: this.#url,
        headers: { "content-type": "application/json; charset=utf-8" },
        body: JSON.stringify(renderSlack(event)),
        fallbackBody: JSON.stringify(renderSlack(event, { bare: true })),
      },
      signal,
    );
  }
}
