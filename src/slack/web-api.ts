/**
 * A small client for Slack's Web API (https://api.slack.com/web): one method call is one JSON POST with
 * the token as a Bearer header, and its answer is classified for retrying, the way a notifier needs it:
 *   - `ok`: Slack answered `{ ok: true, ... }`; `body` is the whole answer (e.g. `ts`, `channel`).
 *   - `retry`: worth trying again later — HTTP 429 (with `retryAfterMs` from Retry-After), 5xx, a network
 *     error or timeout, or one of Slack's transient errors (`ratelimited`, `internal_error`, ...).
 *   - `permanent`: trying again cannot help — `invalid_auth`, `channel_not_found`, `invalid_blocks`, ...
 * `error` is Slack's error name (or `http_<status>`, `network`, `bad_response`) and `reason` a sentence
 * for logs and delivery outcomes that names the method and the error, and never the token.
 *
 * The client paces itself per Slack's documented method limits (see METHOD_RATE_LIMITS) and, after a
 * 429, holds that method (per channel for chat.postMessage) back until Retry-After has passed, answering
 * `retry` without a call.
 */
import { redactKnownSecrets } from "../observability/redact.ts";
import { parseRetryAfter } from "../notifiers/http.ts";
import { TokenBucket } from "../router/token-bucket.ts";

export const SLACK_API_URL = "https://slack.com/api/";

/** Slack's answer to a method call: `ok` plus whatever the method returns. */
export interface SlackResponse {
  ok: boolean;
  error?: string;
  [field: string]: unknown;
}

export type SlackCallResult =
  | { kind: "ok"; body: SlackResponse }
  | { kind: "retry"; error: string; reason: string; retryAfterMs?: number }
  | { kind: "permanent"; error: string; reason: string };

export interface MethodRateLimit {
  ratePerSecond: number;
  burst: number;
  /** Slack limits this method per channel (chat.postMessage), so each `body.channel` has its own bucket. */
  perChannel?: boolean;
}

/**
 * Slack's documented limits for the methods Patchbay calls often
 * (https://api.slack.com/apis/rate-limits): chat.postMessage about 1 message per second per channel,
 * allowing short bursts; chat.update is Tier 3, about 50 per minute. Other methods are not paced here
 * (they are rare, e.g. auth.test, apps.connections.open) but still honour a 429.
 */
export const METHOD_RATE_LIMITS: Readonly<Record<string, MethodRateLimit>> = {
  "chat.postMessage": { ratePerSecond: 1, burst: 3, perChannel: true },
  "chat.update": { ratePerSecond: 50 / 60, burst: 5 },
};

/** Slack errors that say "not now" rather than "never" (https://api.slack.com/web#errors). */
const TRANSIENT_ERRORS = new Set([
  "ratelimited",
  "internal_error",
  "fatal_error",
  "service_unavailable",
  "request_timeout",
]);

/** Longest excerpt of Slack's explanatory messages (response_metadata.messages) quoted in a reason. */
const DETAIL_CHARS = 300;

export interface SlackWebApiOptions {
  /** A bot token (xoxb-…) for chat.*, an app-level token (xapp-…) for apps.connections.open. */
  token: string;
  /** Where the methods live; default https://slack.com/api/. Tests point it at a loopback stand-in. */
  apiUrl?: string;
  /** Overrides or additions to METHOD_RATE_LIMITS, by method name. */
  rateLimits?: Record<string, MethodRateLimit>;
}

interface Pace {
  /** Absent for methods without a documented limit here: only a 429 holds those back. */
  bucket?: TokenBucket;
  /** Date.now() before which Slack asked (by a 429) not to call again. */
  heldUntil: number;
}

export class SlackWebApi {
  readonly #token: string;
  readonly #apiUrl: string;
  readonly #limits: Record<string, MethodRateLimit>;
  /** Keyed by method, or method + channel ID for per-channel methods; one entry per channel ever used. */
  readonly #paces = new Map<string, Pace>();
  /** Channel names seen in calls → the IDs Slack answered, so "alerts" and "C0…" share one bucket. */
  readonly #channelIds = new Map<string, string>();

  constructor(options: SlackWebApiOptions) {
    this.#token = options.token;
    const base = options.apiUrl ?? SLACK_API_URL;
    this.#apiUrl = base.endsWith("/") ? base : `${base}/`;
    this.#limits = { ...METHOD_RATE_LIMITS, ...options.rateLimits };
  }

  /**
   * Calls `method` (e.g. "chat.postMessage") with `body` as its JSON arguments. Waits for the method's
   * rate limit first (abortable by `signal`). Never throws: every failure is a classified result.
   */
  async call(method: string, body: Record<string, unknown>, signal: AbortSignal): Promise<SlackCallResult> {
    const pace = this.#paceFor(method, body);
    const held = pace.heldUntil - Date.now();
    if (held > 0) {
      return {
        kind: "retry",
        error: "ratelimited",
        reason: `Slack ${method}: rate limited, held back for another ${held} ms`,
        retryAfterMs: held,
      };
    }
    if (pace.bucket && !(await this.#waitForToken(pace.bucket, signal))) {
      return { kind: "retry", error: "aborted", reason: `Slack ${method}: ${abortReason(signal)}` };
    }
    const result = await this.#post(method, body, signal);
    if (result.kind === "ok") this.#learnChannelId(body.channel, result.body.channel);
    if (result.kind === "retry" && result.error === "ratelimited" && result.retryAfterMs) {
      pace.heldUntil = Date.now() + result.retryAfterMs;
    }
    return result;
  }

  async #post(method: string, body: Record<string, unknown>, signal: AbortSignal): Promise<SlackCallResult> {
    const url = this.#apiUrl + method;
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: {
          authorization: `Bearer ${this.#token}`,
          "content-type": "application/json; charset=utf-8",
        },
        body: JSON.stringify(body),
        signal,
      });
    } catch (error) {
      const reason = signal.aborted ? abortReason(signal) : describeFetchError(error);
      return { kind: "retry", error: "network", reason: this.#redact(`Slack ${method}: ${reason}`) };
    }
    const text = await response.text().catch(() => "");
    if (response.status === 429) {
      const retryAfterMs = parseRetryAfter(response.headers.get("retry-after") ?? "");
      const reason = `Slack ${method}: rate limited (HTTP 429${retryAfterMs === undefined ? "" : `, retry after ${retryAfterMs} ms`})`;
      return retryAfterMs === undefined
        ? { kind: "retry", error: "ratelimited", reason }
        : { kind: "retry", error: "ratelimited", reason, retryAfterMs };
    }
    if (response.status >= 500 || response.status === 408) {
      return {
        kind: "retry",
        error: `http_${response.status}`,
        reason: `Slack ${method}: HTTP ${response.status}`,
      };
    }
    if (response.status !== 200) {
      return {
        kind: "permanent",
        error: `http_${response.status}`,
        reason: `Slack ${method}: HTTP ${response.status}`,
      };
    }
    const answer = parseAnswer(text);
    if (answer === undefined) {
      // A proxy's error page or a cut connection, not Slack's JSON: another try may reach Slack.
      return {
        kind: "retry",
        error: "bad_response",
        reason: `Slack ${method}: the answer is not Slack's JSON`,
      };
    }
    if (answer.ok) return { kind: "ok", body: answer };
    const error = typeof answer.error === "string" && answer.error !== "" ? answer.error : "unknown_error";
    const reason = this.#redact(`Slack ${method}: ${error}${detailOf(answer)}`);
    return TRANSIENT_ERRORS.has(error)
      ? { kind: "retry", error, reason }
      : { kind: "permanent", error, reason };
  }

  #paceFor(method: string, body: Record<string, unknown>): Pace {
    const limit: MethodRateLimit | undefined = this.#limits[method];
    const channel = typeof body.channel === "string" ? body.channel : "";
    const key = limit?.perChannel ? `${method}\n${this.#channelIds.get(channel) ?? channel}` : method;
    let pace = this.#paces.get(key);
    if (!pace) {
      const bucket = limit && new TokenBucket(limit.ratePerSecond, limit.burst, Date.now());
      pace = bucket ? { bucket, heldUntil: 0 } : { heldUntil: 0 };
      this.#paces.set(key, pace);
    }
    return pace;
  }

  #learnChannelId(asked: unknown, answered: unknown): void {
    if (typeof asked !== "string" || typeof answered !== "string" || asked === answered) return;
    if (this.#channelIds.get(asked) === answered) return;
    this.#channelIds.set(asked, answered);
    // The bucket used under the name so far becomes the channel's, unless the ID already has one.
    for (const [method, limit] of Object.entries(this.#limits)) {
      const byName = limit.perChannel ? this.#paces.get(`${method}\n${asked}`) : undefined;
      if (byName && !this.#paces.has(`${method}\n${answered}`))
        this.#paces.set(`${method}\n${answered}`, byName);
    }
  }

  /** Resolves true once a token is taken, false if `signal` aborts first. */
  async #waitForToken(bucket: TokenBucket, signal: AbortSignal): Promise<boolean> {
    for (;;) {
      if (signal.aborted) return false;
      const wait = bucket.take(Date.now());
      if (wait === 0) return true;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          resolve();
        };
        const timer = setTimeout(done, wait);
        signal.addEventListener("abort", done, { once: true });
      });
    }
  }

  #redact(text: string): string {
    return redactKnownSecrets(text, this.#apiUrl, [this.#token]);
  }
}

function parseAnswer(text: string): SlackResponse | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === "object" && value !== null && typeof (value as SlackResponse).ok === "boolean") {
      return value as SlackResponse;
    }
  } catch {
    // Falls through: not JSON.
  }
  return undefined;
}

/** Slack explains invalid_blocks and friends in response_metadata.messages; quote the start of it. */
function detailOf(answer: SlackResponse): string {
  const metadata = answer.response_metadata as { messages?: unknown } | undefined;
  const messages = Array.isArray(metadata?.messages)
    ? metadata.messages.filter((m) => typeof m === "string")
    : [];
  if (messages.length === 0) return "";
  const joined = messages.join("; ");
  return ` (${joined.length > DETAIL_CHARS ? `${joined.slice(0, DETAIL_CHARS)}…` : joined})`;
}

function abortReason(signal: AbortSignal): string {
  const reason = signal.reason as { name?: string; message?: string } | undefined;
  return reason?.name === "TimeoutError"
    ? "request timed out"
    : `request aborted: ${reason?.message ?? "aborted"}`;
}

function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `request failed: ${cause.code}`;
  return `request failed: ${(error as Error).message}`;
}
