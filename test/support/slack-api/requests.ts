/**
 * What Slack sends an app, for tests: block_actions and app_mention payloads shaped as Slack documents
 * them (https://api.slack.com/reference/interaction-payloads/block-actions,
 * https://api.slack.com/events/app_mention), and HTTP requests signed the way Slack signs them
 * (https://api.slack.com/authentication/verifying-requests-from-slack):
 * X-Slack-Signature: v0=HMAC-SHA256(signing secret, "v0:" + timestamp + ":" + body).
 */
import { createHmac, randomUUID } from "node:crypto";

export interface ButtonClick {
  /** The button's value: the command line. */
  value: string;
  user: string;
  channel: string;
  /** The message that carried the button. */
  messageTs: string;
  /** Set when that message is itself a reply in a thread. */
  threadTs?: string;
  actionId?: string;
}

export function blockActionsPayload(click: ButtonClick): Record<string, unknown> {
  return {
    type: "block_actions",
    user: { id: click.user, username: "alice", name: "alice", team_id: "T0PATCHBAY" },
    api_app_id: "A0PATCHBAY",
    token: "deprecated-verification-token",
    container: {
      type: "message",
      message_ts: click.messageTs,
      channel_id: click.channel,
      is_ephemeral: false,
    },
    trigger_id: "1234.5678.abcdef",
    team: { id: "T0PATCHBAY", domain: "patchbay-test" },
    channel: { id: click.channel, name: "alerts" },
    message: {
      type: "message",
      user: "U0PATCHBOT",
      bot_id: "B0PATCHBOT",
      ts: click.messageTs,
      ...(click.threadTs ? { thread_ts: click.threadTs } : {}),
      text: "an alert",
      blocks: [],
    },
    response_url: "https://hooks.slack.com/actions/T0PATCHBAY/1/abc",
    actions: [
      {
        type: "button",
        action_id: click.actionId ?? "patchbay.run",
        block_id: "actions",
        text: { type: "plain_text", text: "Describe" },
        value: click.value,
        action_ts: "1700000000.123456",
      },
    ],
  };
}

export interface Mention {
  text: string;
  user: string;
  channel: string;
  ts: string;
  threadTs?: string;
  eventId?: string;
}

/** The Events API callback for an app_mention (the body over HTTP, the payload over Socket Mode). */
export function appMentionCallback(mention: Mention): Record<string, unknown> {
  return {
    token: "deprecated-verification-token",
    team_id: "T0PATCHBAY",
    api_app_id: "A0PATCHBAY",
    event: {
      type: "app_mention",
      user: mention.user,
      text: mention.text,
      ts: mention.ts,
      channel: mention.channel,
      event_ts: mention.ts,
      ...(mention.threadTs ? { thread_ts: mention.threadTs } : {}),
    },
    type: "event_callback",
    event_id: mention.eventId ?? `Ev${randomUUID().replace(/-/g, "").slice(0, 10).toUpperCase()}`,
    event_time: 1_700_000_000,
  };
}

export function slackSignature(secret: string, timestamp: number, body: string): string {
  return "v0=" + createHmac("sha256", secret).update(`v0:${timestamp}:${body}`).digest("hex");
}

export interface SignedRequestOptions {
  secret: string;
  /** Unix seconds; default now. */
  timestamp?: number;
  contentType?: string;
  /** Replaces the signature (a forged request). */
  signature?: string;
}

/** POSTs `body` as Slack would, signed with `secret`. */
export function postSignedBySlack(
  url: string,
  body: string,
  options: SignedRequestOptions,
): Promise<Response> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  return fetch(url, {
    method: "POST",
    headers: {
      "content-type": options.contentType ?? "application/json",
      "x-slack-request-timestamp": String(timestamp),
      "x-slack-signature": options.signature ?? slackSignature(options.secret, timestamp, body),
    },
    body,
  });
}

/** An interactivity request's body: the payload as JSON in the form field `payload`. */
export function interactivityForm(payload: unknown): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}
