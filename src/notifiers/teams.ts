/**
 * Microsoft Teams workflow webhook ("When a Teams webhook request is received"): a message whose one
 * attachment is an Adaptive Card 1.4. Teams rejects payloads over about 28 KB, so the data excerpt is
 * shortened until the whole request fits. TextBlocks and facts render markdown, so text is escaped.
 */
import type { CloudEvent, Severity } from "../events/cloudevent.ts";
import { post } from "./http.ts";
import { teams } from "./markup.ts";
import { viewOf, type RenderOptions } from "./render.ts";
import type { DeliveryOutcome, NotifierSink } from "./sink.ts";

export const TEAMS_LIMITS = { payloadBytes: 28_000, title: 256, factValue: 1000, data: 10_000 } as const;

/** Adaptive Card TextBlock colours. */
const CARD_COLOUR: Record<Severity | "none", string> = {
  critical: "Attention",
  error: "Attention",
  warning: "Warning",
  info: "Accent",
  debug: "Default",
  none: "Default",
};

export function renderTeams(event: CloudEvent, options: RenderOptions = {}): Record<string, unknown> {
  const view = viewOf(event);
  const body: Record<string, unknown>[] = [
    {
      type: "TextBlock",
      text: teams.text(`${view.emoji} ${view.title}`, TEAMS_LIMITS.title),
      weight: "Bolder",
      size: "Medium",
      color: CARD_COLOUR[view.severity ?? "none"],
      wrap: true,
    },
    {
      type: "FactSet",
      facts: view.fields.map((field) => ({
        title: field.name,
        value: teams.text(field.value, TEAMS_LIMITS.factValue),
      })),
    },
  ];
  const dataBlock = {
    type: "TextBlock",
    text: teams.text(view.data, TEAMS_LIMITS.data),
    fontType: "Monospace",
    wrap: true,
  };
  if (view.data) body.push(dataBlock);
  const content: Record<string, unknown> = {
    $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
    type: "AdaptiveCard",
    version: "1.4",
    body,
  };
  if (view.link && !options.bare)
    content.actions = [{ type: "Action.OpenUrl", title: "Open", url: view.link }];
  const message = {
    type: "message",
    attachments: [{ contentType: "application/vnd.microsoft.card.adaptive", contentUrl: null, content }],
  };
  let room: number = TEAMS_LIMITS.data;
  while (view.data && Buffer.byteLength(JSON.stringify(message)) > TEAMS_LIMITS.payloadBytes) {
    room = Math.floor(room / 2);
    dataBlock.text = teams.text(view.data, room);
  }
  return message;
}

export class TeamsSink implements NotifierSink {
  readonly type = "teams";
  readonly #url: string;

  constructor(webhookUrl: string) {
    this.#url = webhookUrl;
  }

  deliver(event: CloudEvent, signal: AbortSignal): Promise<DeliveryOutcome> {
    return post(
      {
        url: this.#url,
        headers: { "content-type": "application/json" },
        body: JSON.stringify(renderTeams(event)),
        fallbackBody: JSON.stringify(renderTeams(event, { bare: true })),
      },
      signal,
    );
  }
}
