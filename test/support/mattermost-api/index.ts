/**
 * A stand-in for a Mattermost server's REST API v4 (https://api.mattermost.com), on loopback, port 0,
 * for the bot notifier and its buttons. It refuses what Mattermost refuses: a missing or unknown Bearer
 * token (401), a body that is not JSON (400), a channel the bot is not a member of (403), a root_id
 * that names no root post in that channel (400), a message over 16383 characters (400), malformed
 * attachments (400), patching a post that does not exist (404) or is someone else's (403). Posts come
 * back as Mattermost's Post objects (26-character ids, create_at, update_at, …). It records every
 * call, can answer 429 to the next N calls, and can click a button as Mattermost does: a POST of
 * { user_id, user_name, channel_id, post_id, context, … } to the action's integration URL.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { attachmentsProblem, isRecord } from "./attachments.ts";

/** Mattermost's limits: PostMessageMaxRunesV2 and PostPropsMaxRunes. */
export const MESSAGE_MAX_RUNES = 16383;
const PROPS_MAX_RUNES = 800_000;

export interface Post {
  id: string;
  create_at: number;
  update_at: number;
  edit_at: number;
  delete_at: number;
  is_pinned: boolean;
  user_id: string;
  channel_id: string;
  root_id: string;
  original_id: string;
  message: string;
  type: string;
  props: Record<string, unknown>;
  hashtags: string;
  pending_post_id: string;
  metadata: Record<string, unknown>;
}

export interface RecordedCall {
  method: string;
  path: string;
  authorization: string | undefined;
  body: unknown;
  status: number;
  at: number;
}

export interface ClickAnswer {
  status: number;
  body: unknown;
}

export interface MattermostStandIn {
  readonly url: string;
  readonly botUserId: string;
  readonly calls: RecordedCall[];
  post(id: string): Post | undefined;
  /** Every post, oldest first. */
  posts(): Post[];
  /** Answers the next `count` API calls with 429, X-Ratelimit-Reset and Retry-After of `resetSeconds`. */
  rateLimitNext(count: number, resetSeconds: number): void;
  /** Deletes a post (as a user would), so later replies to it are refused. */
  deletePost(id: string): void;
  /**
   * Clicks a button of a post as Mattermost does. `context` replaces the action's own (a forged click);
   * `channelId` replaces the post's channel.
   */
  click(
    postId: string,
    user: { id: string; name: string },
    options?: { actionId?: string; context?: unknown; channelId?: string },
  ): Promise<ClickAnswer>;
  close(): Promise<void>;
}

/** A Mattermost id: 26 lower-case letters and digits. */
export function newId(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  return [...randomBytes(26)].map((byte) => alphabet[byte % alphabet.length]).join("");
}

export async function startMattermostApi(options: {
  botToken: string;
  /** Channels the bot is a member of. */
  channelIds: string[];
}): Promise<MattermostStandIn> {
  const botUserId = newId();
  const channels = new Set(options.channelIds);
  const posts = new Map<string, Post>();
  const calls: RecordedCall[] = [];
  let limited = 0;
  let resetSeconds = 1;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      let body: unknown = text;
      try {
        body = text === "" ? undefined : JSON.parse(text);
      } catch {
        // recorded as text; the route refuses it
      }
      const call: RecordedCall = {
        method: req.method ?? "",
        path: req.url ?? "",
        authorization: req.headers.authorization,
        body,
        status: 0,
        at: Date.now(),
      };
      calls.push(call);
      const answer = route(req, text);
      call.status = answer.status;
      send(res, answer);
    });
  });

  function route(req: IncomingMessage, text: string): Answer {
    if (limited > 0) {
      limited--;
      return {
        status: 429,
        headers: {
          "x-ratelimit-limit": "10",
          "x-ratelimit-remaining": "0",
          "x-ratelimit-reset": String(resetSeconds),
          "retry-after": String(resetSeconds),
          "content-type": "text/plain; charset=utf-8",
        },
        text: "limit exceeded\n",
      };
    }
    if (req.headers.authorization !== `Bearer ${options.botToken}`) {
      return error(
        401,
        "api.context.session_expired.app_error",
        "Invalid or expired session, please login again.",
      );
    }
    const path = (req.url ?? "").split("?")[0]!;
    const patch = /^\/api\/v4\/posts\/([a-z0-9]{26})\/patch$/.exec(path);
    if (req.method === "POST" && path === "/api/v4/posts") return createPost(req, text);
    if (req.method === "PUT" && patch) return patchPost(req, text, patch[1]!);
    return error(404, "api.context.404.app_error", "Sorry, we could not find the page.");
  }

  function jsonBody(
    req: IncomingMessage,
    text: string,
  ): { body: Record<string, unknown> } | { refusal: Answer } {
    const refusal = error(
      400,
      "api.context.invalid_body_param.app_error",
      "Invalid or missing post in request body.",
    );
    if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) return { refusal };
    try {
      const parsed = JSON.parse(text) as unknown;
      if (isRecord(parsed)) return { body: parsed };
    } catch {
      // below
    }
    return { refusal };
  }

  function createPost(req: IncomingMessage, text: string): Answer {
    const parsed = jsonBody(req, text);
    if ("refusal" in parsed) return parsed.refusal;
    const { body } = parsed;
    const channelId = body.channel_id;
    if (typeof channelId !== "string" || channelId === "") {
      return error(
        400,
        "api.context.invalid_body_param.app_error",
        "Invalid or missing channel_id in request body.",
      );
    }
    if (!channels.has(channelId)) {
      return error(403, "api.context.permissions.app_error", "You do not have the appropriate permissions.");
    }
    const rootId = body.root_id ?? "";
    if (typeof rootId !== "string")
      return error(400, "model.post.is_valid.root_id.app_error", "Invalid root id.");
    if (rootId !== "") {
      const root = posts.get(rootId);
      if (!root || root.delete_at !== 0 || root.root_id !== "" || root.channel_id !== channelId) {
        return error(400, "api.post.create_post.root_id.app_error", "Invalid RootId parameter.");
      }
    }
    const problem = contentProblem(body);
    if (problem) return problem;
    const now = Date.now();
    const post: Post = {
      id: newId(),
      create_at: now,
      update_at: now,
      edit_at: 0,
      delete_at: 0,
      is_pinned: false,
      user_id: botUserId,
      channel_id: channelId,
      root_id: rootId,
      original_id: "",
      message: (body.message as string | undefined) ?? "",
      type: "",
      props: (body.props as Record<string, unknown> | undefined) ?? {},
      hashtags: "",
      pending_post_id: "",
      metadata: {},
    };
    if (post.message === "" && !Array.isArray(post.props.attachments)) {
      return error(
        400,
        "api.post.create_post.message_or_attachments.app_error",
        "A post needs a message or attachments.",
      );
    }
    posts.set(post.id, post);
    return { status: 201, json: post };
  }

  function patchPost(req: IncomingMessage, text: string, id: string): Answer {
    const parsed = jsonBody(req, text);
    if ("refusal" in parsed) return parsed.refusal;
    const { body } = parsed;
    const post = posts.get(id);
    if (!post || post.delete_at !== 0) {
      return error(404, "app.post.get.app_error", "Unable to get the post.");
    }
    if (post.user_id !== botUserId) {
      return error(403, "api.context.permissions.app_error", "You do not have the appropriate permissions.");
    }
    const problem = contentProblem(body);
    if (problem) return problem;
    if (typeof body.message === "string") post.message = body.message;
    if (isRecord(body.props)) post.props = body.props;
    post.update_at = post.edit_at = Date.now();
    return { status: 200, json: post };
  }

  /** message and props as Mattermost checks them on create and patch. */
  function contentProblem(body: Record<string, unknown>): Answer | undefined {
    if (body.message !== undefined && typeof body.message !== "string") {
      return error(400, "model.post.is_valid.msg.app_error", "Invalid message.");
    }
    if (typeof body.message === "string" && [...body.message].length > MESSAGE_MAX_RUNES) {
      return error(
        400,
        "model.post.is_valid.msg.app_error",
        `Message must be ${MESSAGE_MAX_RUNES} characters or less.`,
      );
    }
    if (body.props === undefined) return undefined;
    if (!isRecord(body.props)) return error(400, "model.post.is_valid.props.app_error", "Invalid props.");
    if ([...JSON.stringify(body.props)].length > PROPS_MAX_RUNES) {
      return error(400, "model.post.is_valid.props.app_error", "Invalid props: too long.");
    }
    if (body.props.attachments !== undefined) {
      const problem = attachmentsProblem(body.props.attachments);
      if (problem)
        return error(400, "model.post.is_valid.attachments.app_error", `Invalid attachments: ${problem}`);
    }
    return undefined;
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    botUserId,
    calls,
    post: (id) => posts.get(id),
    posts: () => [...posts.values()].sort((a, b) => a.create_at - b.create_at),
    rateLimitNext(count, seconds) {
      limited = count;
      resetSeconds = seconds;
    },
    deletePost(id) {
      const post = posts.get(id);
      if (post) post.delete_at = Date.now();
    },
    async click(postId, user, clickOptions = {}) {
      const post = posts.get(postId);
      if (!post) throw new Error(`no post ${postId} to click on`);
      const actions = ((post.props.attachments ?? []) as { actions?: Record<string, unknown>[] }[]).flatMap(
        (attachment) => attachment.actions ?? [],
      );
      const action = actions.find(
        (a) => clickOptions.actionId === undefined || a.id === clickOptions.actionId,
      );
      if (!action) throw new Error(`post ${postId} has no button ${clickOptions.actionId ?? ""}`);
      const integration = action.integration as { url: string; context?: unknown };
      const response = await fetch(integration.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          user_id: user.id,
          user_name: user.name,
          channel_id: clickOptions.channelId ?? post.channel_id,
          channel_name: "alerts",
          team_id: newId(),
          team_domain: "ops",
          post_id: post.id,
          trigger_id: newId(),
          type: "",
          data_source: "",
          context: "context" in clickOptions ? clickOptions.context : integration.context,
        }),
      });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // kept as text
      }
      return { status: response.status, body };
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface Answer {
  status: number;
  headers?: Record<string, string>;
  json?: unknown;
  text?: string;
}

/** Mattermost's AppError as JSON. */
function error(status: number, id: string, message: string): Answer {
  return {
    status,
    json: { id, message, detailed_error: "", request_id: newId(), status_code: status },
  };
}

function send(res: ServerResponse, answer: Answer): void {
  if (answer.json !== undefined) {
    res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
    res.end(JSON.stringify(answer.json));
  } else {
    res.writeHead(answer.status, answer.headers ?? {});
    res.end(answer.text ?? "");
  }
}
