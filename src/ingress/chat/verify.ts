/** Proof that a slash command came from the platform: Slack's request signature, Mattermost's token. */
import { createHmac } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { secretsEqual } from "../auth.ts";
import { HttpError } from "../http-errors.ts";

/** Slack refuses to sign older requests' replays; so do we. */
export const SLACK_MAX_AGE_SECONDS = 5 * 60;

/**
 * Signatures of the Slack requests already accepted, each kept while its timestamp is inside the window:
 * the same signed request sent again within those five minutes would otherwise run its command again.
 * A signature covers the timestamp and the body, so it identifies one request. Bounded in memory: when
 * full of entries still in their window, the oldest gives way (only correctly signed requests get in,
 * so filling it takes that many genuine commands from Slack within five minutes).
 */
export class SlackReplayCache {
  /** signature → the Unix second after which its timestamp is outside the window. */
  readonly #expiries = new Map<string, number>();
  readonly #capacity: number;

  constructor(capacity = 10_000) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`a replay cache holds at least one signature, not ${capacity}`);
    }
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#expiries.size;
  }

  /** Records the request; false when the same signature was recorded and is still inside its window. */
  firstSighting(signature: string, timestampSeconds: number, nowSeconds: number): boolean {
    if ((this.#expiries.get(signature) ?? -Infinity) >= nowSeconds) return false;
    // Deleted and set again, a renewed entry moves to the end of the Map's order: oldest first.
    this.#expiries.delete(signature);
    if (this.#expiries.size >= this.#capacity) this.#evict(nowSeconds);
    this.#expiries.set(signature, timestampSeconds + SLACK_MAX_AGE_SECONDS);
    return true;
  }

  /** Drops every entry whose window has passed; if none has, the oldest entry. */
  #evict(nowSeconds: number): void {
    for (const [signature, expiry] of this.#expiries) {
      if (expiry < nowSeconds) this.#expiries.delete(signature);
    }
    if (this.#expiries.size >= this.#capacity) {
      this.#expiries.delete(this.#expiries.keys().next().value!);
    }
  }
}

/**
 * https://api.slack.com/authentication/verifying-requests-from-slack — and, given a replay cache, a
 * request whose signature was already accepted within the window is refused (409).
 */
export function verifySlackSignature(
  headers: IncomingHttpHeaders,
  rawBody: Buffer,
  signingSecret: string,
  {
    nowSeconds = Math.floor(Date.now() / 1000),
    replays,
  }: { nowSeconds?: number; replays?: SlackReplayCache } = {},
): void {
  const timestamp = single(headers["x-slack-request-timestamp"]);
  const signature = single(headers["x-slack-signature"]);
  if (!timestamp || !signature) {
    throw unauthenticated("missing X-Slack-Request-Timestamp or X-Slack-Signature header");
  }
  if (!/^\d{1,12}$/.test(timestamp))
    throw unauthenticated("X-Slack-Request-Timestamp is not a Unix time in seconds");
  const age = nowSeconds - Number(timestamp);
  if (Math.abs(age) > SLACK_MAX_AGE_SECONDS) {
    throw unauthenticated(
      `the request timestamp is ${age} s from now; requests more than ${SLACK_MAX_AGE_SECONDS} s old are refused (replay protection)`,
    );
  }
  const expected =
    "v0=" + createHmac("sha256", signingSecret).update(`v0:${timestamp}:`).update(rawBody).digest("hex");
  if (!secretsEqual(signature, expected)) {
    throw unauthenticated("the X-Slack-Signature does not match this notifier's signing secret");
  }
  // Recorded only once the signature is proven: a forged request must not be able to fill the cache.
  if (replays && !replays.firstSighting(signature, Number(timestamp), nowSeconds)) {
    throw new HttpError(
      409,
      "replayed-request",
      `this signed request was already received; a Slack request is accepted once (replay protection, ${SLACK_MAX_AGE_SECONDS} s window)`,
    );
  }
}

/** Mattermost sends its token both as the `token` form field and as "Authorization: Token <token>". */
export function verifyMattermostToken(
  headers: IncomingHttpHeaders,
  form: URLSearchParams,
  token: string,
): void {
  const fromHeader = headers.authorization?.match(/^Token\s+(\S+)$/i)?.[1];
  const presented = form.get("token") ?? fromHeader;
  if (!presented) throw unauthenticated("missing slash command token");
  if (!secretsEqual(presented, token)) {
    throw unauthenticated("the slash command token does not match this notifier's token");
  }
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function unauthenticated(message: string): HttpError {
  return new HttpError(401, "unauthenticated", message);
}
