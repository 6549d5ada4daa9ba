/**
 * POST /chat/slack/<notifier>/events (the Events API: URL verification, app mentions) and
 * POST /chat/slack/<notifier>/interactivity (button clicks): Slack's app endpoints, for those who expose
 * Patchbay instead of using Socket Mode. Each request is verified with the signing secret (replays
 * refused), answered 200 at once (Slack wants an answer within 3 s), and the command it asks for runs
 * afterwards, its answer posted in the thread.
 */
import type { IncomingMessage } from "node:http";
import { MalformedSlackPayload } from "../../slack/payloads.ts";
import { readBody } from "../body.ts";
import type { Handler, IngressContext } from "../context.ts";
import { HttpError, sendJson } from "../http-errors.ts";
import type { SlackAppRequests } from "./ports.ts";
import { chatChannel } from "./slash-commands.ts";
import { verifySlackSignature } from "./verify.ts";

/** Slack's event and interaction payloads are a few KiB; a message with many blocks stays far below this. */
const SLACK_APP_BODY_LIMIT = 256 * 1024;

export const handleSlackEvents: Handler = async (ctx, req, res) => {
  const { body, app } = await verifiedRequest(ctx, req, "events");
  const callback = parseJson(body.toString("utf8"), "the request body");
  if (callback.type === "url_verification") {
    if (typeof callback.challenge !== "string" || callback.challenge === "") {
      throw new HttpError(400, "malformed", "url_verification without a challenge");
    }
    sendJson(res, 200, { challenge: callback.challenge });
    return;
  }
  asBadRequest(() => app.handleEventCallback(callback));
  sendJson(res, 200, { ok: true });
};

export const handleSlackInteractivity: Handler = async (ctx, req, res) => {
  const { body, app } = await verifiedRequest(ctx, req, "interactivity");
  const payload = new URLSearchParams(body.toString("utf8")).get("payload");
  if (payload === null) throw new HttpError(400, "malformed", "the form has no payload field");
  const interaction = parseJson(payload, "the payload field");
  asBadRequest(() => app.handleInteraction(interaction));
  // Slack shows nothing for a block_actions answer; an empty 200 tells it the click arrived.
  res.writeHead(200, { "content-length": 0 }).end();
};

async function verifiedRequest(
  ctx: IngressContext,
  req: IncomingMessage,
  endpoint: "events" | "interactivity",
): Promise<{ body: Buffer; app: SlackAppRequests }> {
  const { name, channel } = chatChannel(ctx, req, "slack", endpoint);
  if (!channel.slackSigningSecret || !channel.slackApp) {
    const missing = channel.slackSigningSecret
      ? "spec.slack.botToken, to answer as the Slack app"
      : "spec.commands.slack.signingSecret, to verify Slack's requests";
    throw new HttpError(
      404,
      "chat-not-configured",
      `notifier "${name}" has no Slack ${endpoint} endpoint configured: it needs ${missing}`,
    );
  }
  const body = await readBody(req, Math.min(ctx.maxBodyBytes, SLACK_APP_BODY_LIMIT));
  verifySlackSignature(req.headers, body, channel.slackSigningSecret, { replays: ctx.slackReplays });
  return { body, app: channel.slackApp };
}

function parseJson(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, "malformed", `${what} is not JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HttpError(400, "malformed", `${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function asBadRequest(handle: () => void): void {
  try {
    handle();
  } catch (err) {
    if (err instanceof MalformedSlackPayload) throw new HttpError(400, "malformed", err.message);
    throw err;
  }
}
