/**
 * Slack incoming webhook: Block Kit blocks inside an attachment, whose `color` draws the severity bar.
 * Limits (https://api.slack.com/reference/block-kit/blocks): 50 blocks, header text 150 chars, section
 * text 3000, 10 section fields of 2000, button text 75, URLs 3000.
 */
import type { CloudEvent } from "../events/cloudevent.ts";
import { post } from "./http.ts";
import { truncate, viewOf } from "./render.ts";
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

const CODE_FENCE = "```";

export function renderSlack(event: CloudEvent): Record<string, unknown> {
  const view = viewOf(event);
  const blocks: Record<string, unknown>[] = [
    {
      type: "header",
      text: {
        type: "plain_text",
        text: truncate(`${view.emoji} ${view.title}`, SLACK_LIMITS.headerText),
        emoji: true,
      },
    },
    {
      type: "section",
      fields: view.fields.slice(0, SLACK_LIMITS.fields).map((field) => ({
        type: "mrkdwn",
        text: truncateEscaped(`*${escape(field.name)}*\n${escape(field.value)}`, SLACK_LIMITS.fieldText),
      })),
    },
  ];
  if (view.data) {
    const room = SLACK_LIMITS.sectionText - 2 * CODE_FENCE.length - 2;
    blocks.push({
      type: "section",
      text: {
        type: "mrkdwn",
        text: `${CODE_FENCE}\n${truncateEscaped(escape(view.data), room)}\n${CODE_FENCE}`,
      },
    });
  }
  if (view.link && view.link.length <= SLACK_LIMITS.url) {
    blocks.push({
      type: "actions",
      elements: [{ type: "button", text: { type: "plain_text", text: "Open" }, url: view.link }],
    });
  }
  return {
    text: truncateEscaped(
      escape(`${view.title} (${event.source}: ${event.type})`),
      SLACK_LIMITS.fallbackText,
    ),
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
    const body = JSON.stringify(renderSlack(event));
    return post(
      { url: this.#url, headers: { "content-type": "application/json; charset=utf-8" }, body },
      signal,
    );
  }
}

/** Slack mrkdwn treats &, < and > as control characters (https://api.slack.com/reference/surfaces/formatting). */
function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Truncates escaped text without leaving half an entity behind. */
function truncateEscaped(text: string, max: number): string {
  const cut = truncate(text, max);
  return cut === text ? text : cut.replace(/&[a-z]*…$/, "…");
}
