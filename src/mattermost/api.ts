/**
 * The two calls of Mattermost's REST API v4 a bot needs (https://api.mattermost.com): create a post
 * (`POST /api/v4/posts`) and patch one (`PUT /api/v4/posts/{id}/patch`), with the bot's token as a
 * Bearer token, and what a failure means for retrying. The token never appears in a reason.
 */
import { redactText } from "../observability/redact.ts";
import { describeFetchError, parseRetryAfter } from "../notifiers/http.ts";
import type { DeliveryOutcome } from "../notifiers/sink.ts";

export interface NewPost {
  channel_id: string;
  message: string;
  root_id?: string;
  props?: Record<string, unknown>;
}

export interface PostPatch {
  message?: string;
  props?: Record<string, unknown>;
}

/** The fields of Mattermost's Post object Patchbay reads. */
export interface PostRef {
  id: string;
  root_id: string;
  channel_id: string;
}

export type ApiResult =
  | { ok: true; post: PostRef }
  /** `status` is undefined when no response came. */
  | { ok: false; outcome: Exclude<DeliveryOutcome, { kind: "delivered" }>; status?: number };

/** Longest excerpt of Mattermost's error message quoted in a reason. */
const REASON_CHARS = 200;

export class MattermostApi {
  readonly #base: string;
  readonly #token: string;

  /** `serverUrl` as configured, e.g. https://chat.example.com or https://example.com/mattermost. */
  constructor(serverUrl: string, token: string) {
    this.#base = serverUrl.replace(/\/+$/, "");
    this.#token = token;
  }

  /** The server's origin, e.g. for deciding where a response_url may point. */
  get origin(): string {
    return new URL(this.#base).origin;
  }

  createPost(post: NewPost, signal: AbortSignal): Promise<ApiResult> {
    return this.#call("POST", "/api/v4/posts", post, signal, `channel ${post.channel_id}`);
  }

  patchPost(id: string, patch: PostPatch, signal: AbortSignal): Promise<ApiResult> {
    return this.#call("PUT", `/api/v4/posts/${encodeURIComponent(id)}/patch`, patch, signal, `post ${id}`);
  }

  async #call(
    method: string,
    path: string,
    body: unknown,
    signal: AbortSignal,
    target: string,
  ): Promise<ApiResult> {
    let response: Response;
    try {
      response = await fetch(this.#base + path, {
        method,
        headers: {
          authorization: `Bearer ${this.#token}`,
          "content-type": "application/json",
          accept: "application/json",
        },
        body: JSON.stringify(body),
        signal,
      });
    } catch (error) {
      return {
        ok: false,
        outcome: { kind: "retry", reason: this.#redact(describeFetchError(error, signal)) },
      };
    }
    const text = await response.text().catch(() => "");
    if (response.ok) {
      const post = parsePost(text);
      if (post) return { ok: true, post };
      return {
        ok: false,
        status: response.status,
        outcome: {
          kind: "retry",
          reason: `${method} ${path} answered ${response.status} without a post object`,
        },
      };
    }
    const detail = this.#redact(errorMessage(text));
    return {
      ok: false,
      status: response.status,
      outcome: classify(response, `${method} ${path}`, target, detail),
    };
  }

  #redact(text: string): string {
    return redactText(text.split(this.#token).join("***"));
  }
}

/**
 * 429 waits for the longer of Retry-After and X-Ratelimit-Reset (seconds until the window resets, as
 * Mattermost's limiter sends it); 401, 403 and 404 say what to fix; other 4xx are permanent; 5xx retry.
 */
function classify(
  response: Response,
  call: string,
  target: string,
  detail: string,
): Exclude<DeliveryOutcome, { kind: "delivered" }> {
  const status = response.status;
  const said = detail ? `: ${detail}` : "";
  if (status === 429) {
    const waits = [
      retryAfterOf(response.headers.get("retry-after")),
      resetOf(response.headers.get("x-ratelimit-reset")),
    ].filter((ms): ms is number => ms !== undefined);
    const reason = `Mattermost rate limit (429) on ${call}${said}`;
    return waits.length > 0
      ? { kind: "retry", reason, retryAfterMs: Math.max(...waits) }
      : { kind: "retry", reason };
  }
  if (status === 408 || status >= 500)
    return { kind: "retry", reason: `Mattermost answered ${status} to ${call}${said}` };
  if (status === 401) {
    return {
      kind: "permanent",
      reason: `Mattermost refused the bot token (401) on ${call}: check spec.mattermost.botToken (a bot account's access token, not revoked)${said}`,
    };
  }
  if (status === 403) {
    return {
      kind: "permanent",
      reason: `the bot may not do this (403) in ${target} on ${call}: add the bot account to the channel, or give it the permission${said}`,
    };
  }
  if (status === 404) {
    return {
      kind: "permanent",
      reason: `Mattermost found no ${target} (404) on ${call}: check spec.mattermost.channelId and serverUrl${said}`,
    };
  }
  return { kind: "permanent", reason: `Mattermost refused ${call} (${status})${said}` };
}

function retryAfterOf(value: string | null): number | undefined {
  return value === null ? undefined : parseRetryAfter(value);
}

/** X-Ratelimit-Reset: seconds until the limit resets; a value that reads as a Unix time is taken as one. */
function resetOf(value: string | null, now = Date.now()): number | undefined {
  if (value === null || !/^\d+$/.test(value.trim())) return undefined;
  const seconds = Number(value.trim());
  if (seconds > 1_000_000_000) return Math.max(0, seconds * 1000 - now);
  return seconds * 1000;
}

/** Mattermost's errors are {id, message, status_code, …}; anything else is quoted briefly. */
function errorMessage(text: string): string {
  let message = text;
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === "string") message = parsed.message;
  } catch {
    // not JSON: the text itself
  }
  const flat = message.replace(/\s+/g, " ").trim();
  return flat.length > REASON_CHARS ? `${flat.slice(0, REASON_CHARS)}…` : flat;
}

function parsePost(text: string): PostRef | undefined {
  try {
    const post = JSON.parse(text) as Partial<PostRef>;
    if (typeof post.id !== "string" || post.id === "") return undefined;
    return {
      id: post.id,
      root_id: typeof post.root_id === "string" ? post.root_id : "",
      channel_id: typeof post.channel_id === "string" ? post.channel_id : "",
    };
  } catch {
    return undefined;
  }
}
