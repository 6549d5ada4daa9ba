/**
 * A stand-in for Slack's Web API on loopback, for tests: `POST /api/<method>` with JSON, checked the way
 * Slack documents it (https://api.slack.com/web):
 *   - `Authorization: Bearer <token>`: none → not_authed; an unknown token → invalid_auth; a bot token
 *     where an app-level token is needed (or the reverse) → not_allowed_token_type.
 *   - `Content-Type: application/json` (without charset Slack adds the warning missing_charset); a body
 *     that is not a JSON object → invalid_json / json_not_object. Form posts, which Slack also takes, are
 *     refused (invalid_post_type): Patchbay only sends JSON.
 *   - chat.postMessage / chat.update: a known channel (ID or name) the bot is a member of
 *     (channel_not_found / not_in_channel), some content (no_text), text ≤ 40,000 (msg_too_long), Block
 *     Kit limits for `blocks` and for the blocks of each attachment (invalid_blocks, with Slack's
 *     response_metadata.messages), a `thread_ts` naming a root message of that channel, an update of an
 *     existing message (message_not_found).
 * Stricter than Slack on one point: Slack may post a reply whose thread_ts names no message as a plain
 * channel message; here it is refused (thread_not_found) so a broken thread fails the test.
 *
 * Every call is recorded (method, headers, body, HTTP status, answer). `rateLimitNext(n, s)` answers the
 * next n calls with HTTP 429 and `Retry-After: s`. Other files add methods with `handle()` and may attach
 * to `server` (e.g. a WebSocket upgrade for Socket Mode).
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { blockProblems } from "./block-kit.ts";

export interface SlackApiStandInOptions {
  /** Bot tokens (xoxb-…) accepted; default [DEFAULT_BOT_TOKEN]. */
  botTokens?: string[];
  /** App-level tokens (xapp-…) accepted; default [DEFAULT_APP_TOKEN]. */
  appTokens?: string[];
  /** Channels of the workspace; default one, DEFAULT_CHANNEL, with the bot a member. */
  channels?: StandInChannel[];
}

export interface StandInChannel {
  id: string;
  name: string;
  /** Whether the bot is in the channel; chat.postMessage answers not_in_channel when it is not. Default true. */
  member?: boolean;
}

export const DEFAULT_BOT_TOKEN = "xoxb-1111-2222-patchbaytest";
export const DEFAULT_APP_TOKEN = "xapp-1-A111-2222-patchbaytest";
export const DEFAULT_CHANNEL: StandInChannel = { id: "C0PATCHBAY1", name: "alerts", member: true };

export type TokenKind = "bot" | "app";

export interface RecordedCall {
  method: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body, or the raw text when it was not JSON. */
  body: unknown;
  status: number;
  answer: unknown;
  /** Date.now() when the request was complete. */
  at: number;
}

export interface StoredMessage {
  channel: string;
  ts: string;
  text?: string;
  blocks?: unknown[];
  attachments?: unknown[];
  thread_ts?: string;
  /** How often chat.update changed it. */
  edits: number;
  /** The replies, in order (roots only). */
  replies: StoredMessage[];
}

export interface MethodRequest {
  method: string;
  token: string;
  tokenKind: TokenKind;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/** A JSON answer (HTTP 200), or an answer with its own status and headers. */
export type MethodAnswer =
  | Record<string, unknown>
  | { httpStatus: number; headers?: Record<string, string>; json: Record<string, unknown> };

export type MethodHandler = (request: MethodRequest) => MethodAnswer | Promise<MethodAnswer>;

export interface SlackApiStandIn {
  /** Base URL for SlackWebApi's apiUrl, ending in "/api/". */
  readonly apiUrl: string;
  readonly server: Server;
  readonly calls: RecordedCall[];
  /** Root messages of a channel (ID or name), oldest first, each with its replies. */
  messages(channel: string): StoredMessage[];
  /** A root message and its replies; undefined when `ts` names no root there. */
  thread(channel: string, ts: string): { root: StoredMessage; replies: StoredMessage[] } | undefined;
  /** The next `count` calls get HTTP 429 with `Retry-After: retryAfterSeconds`. */
  rateLimitNext(count: number, retryAfterSeconds: number): void;
  /** Registers (or replaces) a method; it runs after the token check. Default token kind: bot. */
  handle(method: string, handler: MethodHandler, options?: { tokenKind?: TokenKind }): void;
  /** A channel by ID or name (with or without "#"). */
  channel(idOrName: string): StandInChannel | undefined;
  close(): Promise<void>;
}

/** Slack truncates longer text; chat.postMessage refuses it (https://api.slack.com/methods/chat.postMessage). */
const MAX_TEXT = 40_000;
const MAX_ATTACHMENTS = 100;
/** Far above any real message; guards the stand-in itself. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;
const JSON_TYPE = /^application\/json\s*(;|$)/i;

export async function startSlackApiStandIn(options: SlackApiStandInOptions = {}): Promise<SlackApiStandIn> {
  const botTokens = new Set(options.botTokens ?? [DEFAULT_BOT_TOKEN]);
  const appTokens = new Set(options.appTokens ?? [DEFAULT_APP_TOKEN]);
  // Slack's token types by prefix (https://api.slack.com/authentication/token-types).
  for (const token of botTokens)
    if (!token.startsWith("xoxb-")) throw new Error("a bot token starts with xoxb-");
  for (const token of appTokens)
    if (!token.startsWith("xapp-")) throw new Error("an app-level token starts with xapp-");
  const channels = (options.channels ?? [DEFAULT_CHANNEL]).map((c) => ({ member: true, ...c }));
  const calls: RecordedCall[] = [];
  const stored = new Map<string, StoredMessage[]>(channels.map((c) => [c.id, []]));
  const handlers = new Map<string, { handler: MethodHandler; tokenKind: TokenKind }>();
  let rateLimited = { count: 0, retryAfterSeconds: 0 };
  let tsCounter = 100;

  const channelOf = (idOrName: unknown): StandInChannel | undefined => {
    if (typeof idOrName !== "string" || idOrName === "") return undefined;
    const name = idOrName.replace(/^#/, "");
    return channels.find((c) => c.id === idOrName || c.name === name);
  };
  // Unique and increasing, shaped like Slack's "1700000000.000100".
  const nextTs = () => {
    const n = tsCounter++;
    return `${1_700_000_000 + Math.floor(n / 1_000_000)}.${String(n % 1_000_000).padStart(6, "0")}`;
  };
  const findRoot = (channelId: string, ts: unknown) => stored.get(channelId)?.find((m) => m.ts === ts);
  const findMessage = (channelId: string, ts: unknown): StoredMessage | undefined => {
    for (const root of stored.get(channelId) ?? []) {
      if (root.ts === ts) return root;
      const reply = root.replies.find((r) => r.ts === ts);
      if (reply) return reply;
    }
    return undefined;
  };

  /** What chat.postMessage and chat.update check of the message itself; an error answer or undefined. */
  const contentError = (
    body: Record<string, unknown>,
    required: boolean,
  ): Record<string, unknown> | undefined => {
    const { text, blocks, attachments } = body;
    if (text !== undefined && typeof text !== "string") return { ok: false, error: "invalid_arguments" };
    if (required && !text && blocks === undefined && attachments === undefined)
      return { ok: false, error: "no_text" };
    if (typeof text === "string" && [...text].length > MAX_TEXT) return { ok: false, error: "msg_too_long" };
    const problems: string[] = [];
    if (blocks !== undefined) problems.push(...blockProblems(blocks));
    if (attachments !== undefined) {
      if (!Array.isArray(attachments)) return { ok: false, error: "invalid_attachments" };
      if (attachments.length > MAX_ATTACHMENTS) return { ok: false, error: "too_many_attachments" };
      attachments.forEach((attachment, i) => {
        const inner = (attachment as { blocks?: unknown } | null)?.blocks;
        if (inner !== undefined) problems.push(...blockProblems(inner, `/attachments/${i}/blocks`));
      });
    }
    if (problems.length > 0)
      return { ok: false, error: "invalid_blocks", response_metadata: { messages: problems } };
    return undefined;
  };

  /** The channel a message goes to, or Slack's refusal. */
  const channelError = (body: Record<string, unknown>): Record<string, unknown> | undefined => {
    const channel = channelOf(body.channel);
    if (!channel) return { ok: false, error: "channel_not_found" };
    if (!channel.member) return { ok: false, error: "not_in_channel" };
    return undefined;
  };

  const content = (body: Record<string, unknown>) => ({
    ...(typeof body.text === "string" ? { text: body.text } : {}),
    ...(Array.isArray(body.blocks) ? { blocks: body.blocks } : {}),
    ...(Array.isArray(body.attachments) ? { attachments: body.attachments } : {}),
  });
  const shown = (message: StoredMessage) => {
    const { replies: _replies, edits: _edits, channel: _channel, ...rest } = message;
    return { type: "message", user: "U0PATCHBOT", bot_id: "B0PATCHBOT", ...rest };
  };

  handlers.set("auth.test", {
    tokenKind: "bot",
    handler: () => ({
      ok: true,
      url: "https://patchbay-test.slack.com/",
      team: "Patchbay Test",
      user: "patchbay",
      team_id: "T0PATCHBAY",
      user_id: "U0PATCHBOT",
      bot_id: "B0PATCHBOT",
    }),
  });

  handlers.set("chat.postMessage", {
    tokenKind: "bot",
    handler: ({ body }) => {
      const refused = channelError(body) ?? contentError(body, true);
      if (refused) return refused;
      const channel = channelOf(body.channel)!;
      let root: StoredMessage | undefined;
      if (body.thread_ts !== undefined) {
        root = findRoot(channel.id, body.thread_ts);
        if (!root) return { ok: false, error: "thread_not_found" };
      }
      const message: StoredMessage = {
        channel: channel.id,
        ts: nextTs(),
        ...content(body),
        ...(root ? { thread_ts: root.ts } : {}),
        edits: 0,
        replies: [],
      };
      if (root) root.replies.push(message);
      else stored.get(channel.id)!.push(message);
      return { ok: true, channel: channel.id, ts: message.ts, message: shown(message) };
    },
  });

  handlers.set("chat.update", {
    tokenKind: "bot",
    handler: ({ body }) => {
      const refused = channelError(body);
      if (refused) return refused;
      const channel = channelOf(body.channel)!;
      if (typeof body.ts !== "string" || body.ts === "") return { ok: false, error: "invalid_arguments" };
      const message = findMessage(channel.id, body.ts);
      if (!message) return { ok: false, error: "message_not_found" };
      const invalid = contentError(body, false);
      if (invalid) return invalid;
      Object.assign(message, content(body));
      message.edits++;
      return {
        ok: true,
        channel: channel.id,
        ts: message.ts,
        text: message.text ?? "",
        message: shown(message),
      };
    },
  });

  async function answerCall(
    method: string,
    headers: IncomingHttpHeaders,
    raw: string,
  ): Promise<{
    status: number;
    headers: Record<string, string>;
    json: Record<string, unknown>;
    body: unknown;
  }> {
    let body: unknown = raw;
    const reply = (json: Record<string, unknown>, status = 200, extra: Record<string, string> = {}) => ({
      status,
      headers: extra,
      json,
      body,
    });
    if (rateLimited.count > 0) {
      rateLimited.count--;
      return reply({ ok: false, error: "ratelimited" }, 429, {
        "retry-after": String(rateLimited.retryAfterSeconds),
      });
    }
    const registered = handlers.get(method);
    if (!registered) return reply({ ok: false, error: "unknown_method" });
    const contentType = headers["content-type"] ?? "";
    if (contentType === "") return reply({ ok: false, error: "missing_post_type" });
    if (!JSON_TYPE.test(contentType)) return reply({ ok: false, error: "invalid_post_type" });
    try {
      body = JSON.parse(raw);
    } catch {
      return reply({ ok: false, error: "invalid_json" });
    }
    if (typeof body !== "object" || body === null || Array.isArray(body))
      return reply({ ok: false, error: "json_not_object" });
    const authorization = headers.authorization ?? "";
    const bearer = /^Bearer (\S+)$/.exec(authorization)?.[1];
    if (!bearer) return reply({ ok: false, error: "not_authed" });
    const tokenKind: TokenKind | undefined = botTokens.has(bearer)
      ? "bot"
      : appTokens.has(bearer)
        ? "app"
        : undefined;
    if (!tokenKind) return reply({ ok: false, error: "invalid_auth" });
    if (tokenKind !== registered.tokenKind) return reply({ ok: false, error: "not_allowed_token_type" });
    const answer = await registered.handler({
      method,
      token: bearer,
      tokenKind,
      headers,
      body: body as Record<string, unknown>,
    });
    const warning = /charset=/i.test(contentType) ? {} : { warning: "missing_charset" };
    if ("httpStatus" in answer && "json" in answer) {
      const custom = answer as {
        httpStatus: number;
        headers?: Record<string, string>;
        json: Record<string, unknown>;
      };
      return reply({ ...custom.json, ...warning }, custom.httpStatus, custom.headers);
    }
    return reply({ ...answer, ...warning });
  }

  const server = createServer((request, response) => {
    const match = /^\/api\/([A-Za-z0-9_.]+)$/.exec(request.url ?? "");
    if (request.method !== "POST" || !match) {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found");
      request.resume();
      return;
    }
    const method = match[1]!;
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    request.on("end", () => {
      if (size > MAX_BODY_BYTES) {
        response.writeHead(413, { "content-type": "text/plain" }).end("request too large");
        return;
      }
      answerCall(method, request.headers, Buffer.concat(chunks).toString("utf8")).then(
        (answer) => {
          calls.push({
            method,
            headers: request.headers,
            body: answer.body,
            status: answer.status,
            answer: answer.json,
            at: Date.now(),
          });
          response
            .writeHead(answer.status, {
              "content-type": "application/json; charset=utf-8",
              ...answer.headers,
            })
            .end(JSON.stringify(answer.json));
        },
        (error: unknown) => {
          response.writeHead(500, { "content-type": "text/plain" }).end(String((error as Error).message));
        },
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    apiUrl: `http://127.0.0.1:${port}/api/`,
    server,
    calls,
    messages: (channel) => {
      const id = channelOf(channel)?.id;
      return id ? stored.get(id)! : [];
    },
    thread: (channel, ts) => {
      const id = channelOf(channel)?.id;
      const root = id ? findRoot(id, ts) : undefined;
      return root ? { root, replies: root.replies } : undefined;
    },
    rateLimitNext(count, retryAfterSeconds) {
      rateLimited = { count, retryAfterSeconds };
    },
    handle(method, handler, handleOptions = {}) {
      handlers.set(method, { handler, tokenKind: handleOptions.tokenKind ?? "bot" });
    },
    channel: channelOf,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
