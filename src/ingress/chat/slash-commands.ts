/**
 * POST /chat/slack/<notifier> and /chat/mattermost/<notifier>: slash commands. The request is verified,
 * acknowledged at once with an ephemeral "Running …" (Slack wants an answer within 3 s), and the
 * command's answer is posted to the response_url when it is ready, under the notifier's executor limits.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { resolveAccess } from "../../commands/index.ts";
import { readBody } from "../body.ts";
import type { Handler, IngressContext } from "../context.ts";
import { HttpError, sendJson } from "../http-errors.ts";
import type { ChatChannel } from "./ports.ts";
import { acknowledgement, formatReply, postReply, type ChatReply, type Platform } from "./reply.ts";
import { refusedResponseUrl } from "./response-url.ts";
import { verifyMattermostToken, verifySlackSignature } from "./verify.ts";

const SLASH_BODY_LIMIT = 64 * 1024;

export const handleSlackCommand: Handler = async (ctx, req, res) => {
  const { name, channel } = chatChannel(ctx, req, "slack");
  if (!channel.slackSigningSecret) {
    throw new HttpError(
      404,
      "chat-not-configured",
      `notifier "${name}" has no Slack slash commands configured (spec.commands.slack)`,
    );
  }
  const body = await readBody(req, Math.min(ctx.maxBodyBytes, SLASH_BODY_LIMIT));
  verifySlackSignature(req.headers, body, channel.slackSigningSecret, { replays: ctx.slackReplays });
  const form = new URLSearchParams(body.toString("utf8"));
  const responseUrl = requireResponseUrl(form);
  // Access rules match Slack's user_id only: a Slack user can change their user_name to anyone's.
  const person = { user: form.get("user_id") || form.get("user_name") || "", ids: [form.get("user_id")] };
  await run(ctx, res, "slack", name, channel, form, person, responseUrl);
};

export const handleMattermostCommand: Handler = async (ctx, req, res) => {
  const { name, channel } = chatChannel(ctx, req, "mattermost");
  if (!channel.mattermostToken) {
    throw new HttpError(
      404,
      "chat-not-configured",
      `notifier "${name}" has no Mattermost slash commands configured (spec.commands.mattermost)`,
    );
  }
  const body = await readBody(req, Math.min(ctx.maxBodyBytes, SLASH_BODY_LIMIT));
  const form = new URLSearchParams(body.toString("utf8"));
  verifyMattermostToken(req.headers, form, channel.mattermostToken);
  // Older Mattermost servers send no response_url: then the answer is the HTTP response itself.
  const responseUrl = form.has("response_url") ? requireResponseUrl(form) : undefined;
  // Mattermost user names are unique on the server, so rules may name either.
  const person = {
    user: form.get("user_name") || form.get("user_id") || "",
    ids: [form.get("user_name"), form.get("user_id")],
  };
  await run(ctx, res, "mattermost", name, channel, form, person, responseUrl);
};

async function run(
  ctx: IngressContext,
  res: ServerResponse,
  platform: Platform,
  notifier: string,
  channel: ChatChannel,
  form: URLSearchParams,
  person: { user: string; ids: (string | null)[] },
  responseUrl: string | undefined,
): Promise<void> {
  const commands = ctx.commands;
  if (!commands) throw new HttpError(404, "not-found", "this server does not dispatch commands");
  const text = (form.get("text") ?? "").trim();
  const commandLine = text === "" ? "help" : text;
  const answer = commands
    .dispatch({
      command: commandLine,
      user: person.user,
      notifier,
      channel: form.get("channel_id") ?? "",
      allowedExecutors: channel.allowedExecutors,
      access: resolveAccess(
        channel.access,
        person.ids.filter((id) => id !== null),
      ),
    })
    .then((result) => formatReply(platform, commandLine, result));
  if (!responseUrl) {
    sendJson(res, 200, await answer);
    return;
  }
  const refusal = refusedResponseUrl(
    new URL(responseUrl),
    { platform, mattermostServerOrigin: channel.mattermostServerOrigin },
    ctx.responseUrls,
  );
  if (refusal) {
    // Nothing is posted there; the answer goes back in this response instead, which both platforms show.
    ctx.metrics.chatReplies.inc({ platform, outcome: "refused" });
    ctx.log.warn(`chat:${notifier}:response-url`, "response_url refused; answering in the response instead", {
      platform,
      notifier,
      reason: refusal,
    });
    sendJson(res, 200, withNote(await answer, `The answer was not posted to response_url: ${refusal}.`));
    return;
  }
  sendJson(res, 200, acknowledgement(platform, commandLine));
  void answer
    .then((reply) => postReply(responseUrl, reply, ctx.chatReplyTimeoutMs, ctx.responseUrls))
    .then(
      ({ ok, detail }) => {
        ctx.metrics.chatReplies.inc({ platform, outcome: ok ? "delivered" : "failed" });
        if (!ok)
          ctx.log.warn(`chat:${notifier}`, "could not post a command answer", {
            platform,
            notifier,
            error: detail,
          });
      },
      (err: unknown) => {
        ctx.metrics.chatReplies.inc({ platform, outcome: "failed" });
        ctx.log.warn(`chat:${notifier}`, "command answer failed", {
          platform,
          notifier,
          error: (err as Error).message,
        });
      },
    );
}

/** The reply with a short note after it (kept short: the reply is already clipped to the platform's limit). */
function withNote(reply: ChatReply, fullNote: string): ChatReply {
  const note = fullNote.length <= 300 ? fullNote : `${fullNote.slice(0, 299)}…`;
  const text = `${reply.text}\n_${note}_`;
  if (!reply.blocks) return { ...reply, text };
  return {
    ...reply,
    text,
    blocks: [...reply.blocks, { type: "context", elements: [{ type: "mrkdwn", text: note }] }],
  };
}

/** Mounted at /chat/<platform>/<notifier>, or /chat/<platform>/<notifier>/<endpoint> for Slack's app endpoints. */
export function chatChannel(
  ctx: IngressContext,
  req: IncomingMessage,
  platform: Platform,
  endpoint = "",
): { name: string; channel: ChatChannel } {
  const name = notifierName(req.url ?? "", platform, endpoint);
  const channel = ctx.chat?.lookup(name);
  if (!channel) throw new HttpError(404, "unknown-notifier", `no Notifier is named "${name}"`);
  return { name, channel };
}

function notifierName(url: string, platform: Platform, endpoint: string): string {
  const suffix = endpoint ? `/${endpoint}` : "";
  const raw = new RegExp(`^/chat/[^/]+/([^/?]+)${suffix}/?(\\?.*)?$`, "s").exec(url)?.[1];
  if (!raw) throw new HttpError(404, "not-found", `name a notifier: /chat/${platform}/<notifier>${suffix}`);
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(
      400,
      "bad-request",
      `the notifier name in the URL has a malformed percent-encoding: ${raw}`,
    );
  }
}

function requireResponseUrl(form: URLSearchParams): string {
  const value = form.get("response_url") ?? "";
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new HttpError(400, "malformed", "response_url is missing or not a URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new HttpError(400, "malformed", "response_url must be an http(s) URL");
  }
  return url.href;
}
