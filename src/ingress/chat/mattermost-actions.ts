/**
 * POST /chat/mattermost/<notifier>/actions: a click on a button a Mattermost bot notifier posted
 * (mattermost-bot.ts). Mattermost does not sign these requests, so the button's context carries its
 * command with an HMAC under the notifier's key; a context that fails the check is refused (401) and
 * nothing runs. A valid click runs the command as the clicking user under the notifier's executor
 * limits, is answered at once with an ephemeral "Running …", and the command's answer is posted as a
 * reply in the post's thread through the REST API.
 */
import { verifyActionContext } from "../../mattermost/action-context.ts";
import { readBody } from "../body.ts";
import { resolveAccess } from "../../commands/index.ts";
import type { CommandRunner, Handler, IngressContext } from "../context.ts";
import { HttpError, sendJson } from "../http-errors.ts";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "../json-depth.ts";
import type { ChatChannel } from "./ports.ts";
import { acknowledgement, formatReply } from "./reply.ts";
import { chatChannel } from "./slash-commands.ts";

const ACTION_BODY_LIMIT = 64 * 1024;
/** Mattermost ids: 26 lower-case letters and digits. */
const MATTERMOST_ID = /^[a-z0-9]{26}$/;

interface ActionRequest {
  user_id: string;
  /** Sent by Mattermost beside the id; "" when absent. */
  user_name: string;
  channel_id: string;
  post_id: string;
  context: unknown;
}

export const handleMattermostAction: Handler = async (ctx, req, res) => {
  const { name, channel } = chatChannel(ctx, req, "mattermost", "actions");
  const bot = channel.mattermostBot;
  if (!bot) {
    throw new HttpError(
      404,
      "chat-not-configured",
      `notifier "${name}" is not a Mattermost bot (spec.mattermost.botToken), so it has no buttons`,
    );
  }
  const request = parseRequest(await readBody(req, Math.min(ctx.maxBodyBytes, ACTION_BODY_LIMIT)));
  const check = verifyActionContext(bot.actionKey, name, request.context);
  if (!check.ok) throw new HttpError(401, "unauthenticated", check.problem);
  const { command, channel_id: channelId, root_id: contextRoot } = check.context;
  if (request.channel_id !== channelId) {
    throw new HttpError(
      401,
      "unauthenticated",
      "the button was posted in another channel than the request names",
    );
  }
  const commands = ctx.commands;
  if (!commands) throw new HttpError(404, "not-found", "this server does not dispatch commands");
  sendJson(res, 200, { ephemeral_text: acknowledgement("mattermost", command).text });
  // A reply must name the thread's root: the root itself when the button is on a root post.
  const rootId = contextRoot || request.post_id;
  const click: Click = { command, channelId, rootId, user: request.user_id, userName: request.user_name };
  answerInThread(ctx, commands, name, channel, click).catch((error: unknown) => {
    ctx.metrics.chatReplies.inc({ platform: "mattermost", outcome: "failed" });
    ctx.log.warn(`chat:${name}:button`, "a button's command failed", {
      platform: "mattermost",
      notifier: name,
      error: (error as Error).message,
    });
  });
};

interface Click {
  command: string;
  channelId: string;
  rootId: string;
  user: string;
  userName: string;
}

async function answerInThread(
  ctx: IngressContext,
  commands: CommandRunner,
  notifier: string,
  channel: ChatChannel,
  { command, channelId, rootId, user, userName }: Click,
): Promise<void> {
  const result = await commands.dispatch({
    command,
    user,
    notifier,
    channel: channelId,
    allowedExecutors: channel.allowedExecutors,
    // A rule may name the user id or the user name, as for slash commands.
    access: resolveAccess(channel.access, [userName, user]),
  });
  const reply = formatReply("mattermost", command, result);
  const posted = await channel.mattermostBot!.api.createPost(
    { channel_id: channelId, root_id: rootId, message: reply.text },
    AbortSignal.timeout(ctx.chatReplyTimeoutMs),
  );
  ctx.metrics.chatReplies.inc({ platform: "mattermost", outcome: posted.ok ? "delivered" : "failed" });
  if (!posted.ok) {
    ctx.log.warn(`chat:${notifier}:button`, "could not post a button's answer", {
      platform: "mattermost",
      notifier,
      error: posted.outcome.reason,
    });
  }
}

function parseRequest(body: Buffer): ActionRequest {
  if (nestsDeeperThan(body, MAX_JSON_DEPTH)) {
    throw new HttpError(400, "malformed", `the request body nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch (error) {
    throw new HttpError(400, "malformed", `the request body is not JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new HttpError(400, "malformed", "the request body must be a JSON object");
  }
  const { user_id, user_name, channel_id, post_id, context } = parsed as Record<string, unknown>;
  for (const [field, value] of Object.entries({ user_id, channel_id, post_id })) {
    if (typeof value !== "string" || !MATTERMOST_ID.test(value)) {
      throw new HttpError(
        400,
        "malformed",
        `${field} must be a Mattermost id (26 lower-case letters and digits)`,
      );
    }
  }
  return {
    user_id: user_id as string,
    user_name: typeof user_name === "string" ? user_name : "",
    channel_id: channel_id as string,
    post_id: post_id as string,
    context,
  };
}
