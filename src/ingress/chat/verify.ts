/** Proof that a slash command came from the platform: Slack's request signature, Mattermost's token. */
import { createHmac } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { secretsEqual } from "../auth.ts";
import { HttpError } from "../http-errors.ts";

/** Slack refuses to sign older requests' replays; so do we. */
export const SLACK_MAX_AGE_SECONDS = 5 * 60;

/** https://api.slack.com/authentication/verifying-requests-from-slack */
export function verifySlackSignature(
  headers: IncomingHttpHeaders,
  rawBody: Buffer,
  signingSecret: string,
  nowSeconds = Math.floor(Date.now() / 1000),
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
}

/** Mattermost sends its token both as the `token` form field and as "Authorization: Token <token>". */
export function verifyMattermostToken(
  headers: IncomingHttpHeaders,
  form: URLSearchParams,
  token: string,
): void {
  const fromHeader = /^Token\s+(\S+)$/i.exec(headers.authorization ?? "")?.[1];
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
