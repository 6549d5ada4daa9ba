/**
 * src/ingress/chat/verify.ts, rule by rule: each refusal with its exact status, code and message, the
 * boundaries of Slack's five-minute window, and the replay cache's window and memory bound. The HTTP
 * behaviour is covered in chat.test.ts and chat-security.test.ts.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import {
  SLACK_MAX_AGE_SECONDS,
  SlackReplayCache,
  verifyMattermostToken,
  verifySlackSignature,
} from "../../src/ingress/chat/verify.ts";
import { HttpError } from "../../src/ingress/http-errors.ts";

const SECRET = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
const NOW = 1_700_000_000;
const BODY = Buffer.from("text=echo+hi&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1");

function sign(timestamp: string | number, body: Buffer = BODY, secret = SECRET): string {
  return "v0=" + createHmac("sha256", secret).update(`v0:${timestamp}:${body.toString()}`).digest("hex");
}

function headers(timestamp: string | number, signature = sign(timestamp)): IncomingHttpHeaders {
  return { "x-slack-request-timestamp": String(timestamp), "x-slack-signature": signature };
}

function refusal(fn: () => void): { status: number; code: string; message: string } {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof HttpError, `an HttpError, not ${String(error)}`);
    return { status: error.status, code: error.code, message: error.message };
  }
  assert.fail("expected a refusal");
}

const unauthenticated = (message: string) => ({ status: 401, code: "unauthenticated", message });

describe("verifySlackSignature", () => {
  test("accepts a request signed with the notifier's secret", () => {
    verifySlackSignature(headers(NOW), BODY, SECRET, { nowSeconds: NOW });
  });

  test("refuses a missing timestamp or a missing signature, each on its own", () => {
    const missing = unauthenticated("missing X-Slack-Request-Timestamp or X-Slack-Signature header");
    const onlySignature = { "x-slack-signature": sign(NOW) };
    const onlyTimestamp = { "x-slack-request-timestamp": String(NOW) };
    assert.deepEqual(
      refusal(() => verifySlackSignature(onlySignature, BODY, SECRET, { nowSeconds: NOW })),
      missing,
    );
    assert.deepEqual(
      refusal(() => verifySlackSignature(onlyTimestamp, BODY, SECRET, { nowSeconds: NOW })),
      missing,
    );
    assert.deepEqual(
      refusal(() => verifySlackSignature(headers("", sign("")), BODY, SECRET, { nowSeconds: NOW })),
      missing,
    );
  });

  test("refuses a timestamp that is not a Unix time in seconds, even when the signature covers it", () => {
    // Each is signed correctly: only the timestamp check stands between it and a skipped replay window
    // (Number("abc") is NaN, and NaN compares false with the window).
    for (const timestamp of [
      "abc",
      "NaN",
      `${NOW}x`,
      `x${NOW}`,
      `${NOW}.5`,
      "-1",
      "1e9",
      "1234567890123",
      " 1700000000",
    ]) {
      assert.deepEqual(
        refusal(() => verifySlackSignature(headers(timestamp), BODY, SECRET, { nowSeconds: NOW })),
        unauthenticated("X-Slack-Request-Timestamp is not a Unix time in seconds"),
        timestamp,
      );
    }
  });

  test("accepts timestamps up to 300 s old or ahead, and refuses 301", () => {
    assert.equal(SLACK_MAX_AGE_SECONDS, 300);
    for (const skew of [-300, 300, 0]) {
      verifySlackSignature(headers(NOW - skew), BODY, SECRET, { nowSeconds: NOW });
    }
    assert.deepEqual(
      refusal(() => verifySlackSignature(headers(NOW - 301), BODY, SECRET, { nowSeconds: NOW })),
      unauthenticated(
        "the request timestamp is 301 s from now; requests more than 300 s old are refused (replay protection)",
      ),
    );
    assert.deepEqual(
      refusal(() => verifySlackSignature(headers(NOW + 301), BODY, SECRET, { nowSeconds: NOW })),
      unauthenticated(
        "the request timestamp is -301 s from now; requests more than 300 s old are refused (replay protection)",
      ),
    );
  });

  test("uses the current time when none is given", () => {
    const now = Math.floor(Date.now() / 1000);
    verifySlackSignature(headers(now), BODY, SECRET);
    assert.match(
      refusal(() => verifySlackSignature(headers(now - 1_000), BODY, SECRET)).message,
      /^the request timestamp is 1\d{3} s from now/,
    );
  });

  test("refuses a wrong secret, a changed body and a signature made for another timestamp", () => {
    const mismatch = unauthenticated("the X-Slack-Signature does not match this notifier's signing secret");
    const cases: IncomingHttpHeaders[] = [
      headers(NOW, sign(NOW, BODY, "another-secret")),
      headers(NOW, sign(NOW, Buffer.from("text=echo+other"))),
      headers(NOW, sign(NOW - 1)),
      headers(NOW, sign(NOW).replace("v0=", "v1=")),
      headers(NOW, sign(NOW).slice(3)),
    ];
    for (const h of cases) {
      assert.deepEqual(
        refusal(() => verifySlackSignature(h, BODY, SECRET, { nowSeconds: NOW })),
        mismatch,
      );
    }
  });

  test("a header sent twice: the first value counts", () => {
    const twice = (values: string[]): IncomingHttpHeaders =>
      ({ "x-slack-request-timestamp": [String(NOW), "0"], "x-slack-signature": values }) as never;
    verifySlackSignature(twice([sign(NOW), "v0=junk"]), BODY, SECRET, { nowSeconds: NOW });
    assert.equal(
      refusal(() => verifySlackSignature(twice(["v0=junk", sign(NOW)]), BODY, SECRET, { nowSeconds: NOW }))
        .status,
      401,
    );
  });

  test("with a replay cache, the same signed request is accepted once and refused with 409 after", () => {
    const replays = new SlackReplayCache();
    verifySlackSignature(headers(NOW), BODY, SECRET, { nowSeconds: NOW, replays });
    assert.deepEqual(
      refusal(() => verifySlackSignature(headers(NOW), BODY, SECRET, { nowSeconds: NOW + 10, replays })),
      {
        status: 409,
        code: "replayed-request",
        message:
          "this signed request was already received; a Slack request is accepted once (replay protection, 300 s window)",
      },
    );
    // Another request (another timestamp, so another signature) is not a replay.
    verifySlackSignature(headers(NOW + 1), BODY, SECRET, { nowSeconds: NOW + 10, replays });
    assert.equal(replays.size, 2);
    // Without a cache nothing is remembered.
    verifySlackSignature(headers(NOW), BODY, SECRET, { nowSeconds: NOW });
    verifySlackSignature(headers(NOW), BODY, SECRET, { nowSeconds: NOW });
  });

  test("a request whose signature is wrong is not recorded: it cannot fill the cache", () => {
    const replays = new SlackReplayCache();
    refusal(() =>
      verifySlackSignature(headers(NOW, sign(NOW, BODY, "forged")), BODY, SECRET, {
        nowSeconds: NOW,
        replays,
      }),
    );
    refusal(() => verifySlackSignature(headers(NOW - 400), BODY, SECRET, { nowSeconds: NOW, replays }));
    assert.equal(replays.size, 0);
  });
});

describe("SlackReplayCache", () => {
  test("remembers a signature until its timestamp leaves the window, then forgets it", () => {
    const cache = new SlackReplayCache();
    assert.equal(cache.firstSighting("sig", NOW, NOW), true);
    assert.equal(cache.firstSighting("sig", NOW, NOW + 1), false);
    assert.equal(
      cache.firstSighting("sig", NOW, NOW + SLACK_MAX_AGE_SECONDS),
      false,
      "the last second of the window",
    );
    // One second later the timestamp check refuses the request anyway; the entry may go.
    assert.equal(cache.firstSighting("sig", NOW, NOW + SLACK_MAX_AGE_SECONDS + 1), true);
    assert.equal(cache.size, 1);
  });

  test("a timestamp ahead of the clock is remembered until it, too, is 300 s old", () => {
    const cache = new SlackReplayCache();
    assert.equal(cache.firstSighting("ahead", NOW + 200, NOW), true);
    assert.equal(cache.firstSighting("ahead", NOW + 200, NOW + 450), false);
    assert.equal(cache.firstSighting("ahead", NOW + 200, NOW + 501), true);
  });

  test("is bounded: when full, expired entries go first, and only then the oldest", () => {
    const cache = new SlackReplayCache(2);
    cache.firstSighting("old", NOW - 400, NOW - 200);
    cache.firstSighting("recent", NOW, NOW);
    // "old" expired at NOW - 100: it makes room, "recent" stays.
    assert.equal(cache.firstSighting("new", NOW, NOW), true);
    assert.equal(cache.size, 2);
    assert.equal(cache.firstSighting("recent", NOW, NOW), false);
    assert.equal(cache.firstSighting("new", NOW, NOW), false);
    // Nothing expired: the oldest, "recent", gives way to "newest".
    assert.equal(cache.firstSighting("newest", NOW, NOW), true);
    assert.equal(cache.size, 2);
    assert.equal(cache.firstSighting("new", NOW, NOW), false);
    assert.equal(cache.firstSighting("newest", NOW, NOW), false);
    assert.equal(cache.firstSighting("recent", NOW, NOW), true, "evicted, so seen as new");
  });

  test("when full, an expired entry anywhere in the cache goes before the oldest live one", () => {
    const cache = new SlackReplayCache(2);
    cache.firstSighting("live", NOW, NOW - 200);
    cache.firstSighting("stale", NOW - 400, NOW - 200); // inside its window then, expired at NOW - 100
    assert.equal(cache.firstSighting("new", NOW, NOW), true);
    assert.equal(cache.firstSighting("live", NOW, NOW), false, "the live entry stayed");
    assert.equal(cache.firstSighting("new", NOW, NOW), false);
  });

  test("an entry in the last second of its window is not swept as expired", () => {
    const cache = new SlackReplayCache(2);
    cache.firstSighting("older", NOW, NOW);
    cache.firstSighting("edge", NOW - SLACK_MAX_AGE_SECONDS, NOW); // expires at NOW, still inside
    assert.equal(cache.firstSighting("new", NOW, NOW), true);
    assert.equal(
      cache.firstSighting("edge", NOW - SLACK_MAX_AGE_SECONDS, NOW),
      false,
      "kept; the oldest went",
    );
    assert.equal(cache.firstSighting("older", NOW, NOW), true, "the oldest was evicted");
  });

  test("expired entries are swept only when the cache is full", () => {
    const cache = new SlackReplayCache(10);
    cache.firstSighting("stale", NOW - 400, NOW - 200);
    cache.firstSighting("fresh", NOW, NOW);
    assert.equal(cache.size, 2);
  });

  test("a signature seen again after its window counts as the newest entry", () => {
    const cache = new SlackReplayCache(3);
    cache.firstSighting("again", NOW - 400, NOW - 200); // expires at NOW - 100
    cache.firstSighting("b", NOW, NOW);
    assert.equal(cache.firstSighting("again", NOW, NOW), true, "its first window is over");
    cache.firstSighting("c", NOW, NOW);
    cache.firstSighting("d", NOW, NOW); // full of live entries: the oldest, "b", goes
    assert.equal(cache.firstSighting("again", NOW, NOW), false);
    assert.equal(cache.firstSighting("b", NOW, NOW), true);
  });

  test("a full cache of live entries keeps exactly its capacity", () => {
    const cache = new SlackReplayCache(3);
    for (let i = 0; i < 10; i++) cache.firstSighting(`s${i}`, NOW, NOW);
    assert.equal(cache.size, 3);
    for (const kept of ["s7", "s8", "s9"]) assert.equal(cache.firstSighting(kept, NOW, NOW), false, kept);
  });

  test("holds at least one signature", () => {
    for (const capacity of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => new SlackReplayCache(capacity), {
        name: "RangeError",
        message: `a replay cache holds at least one signature, not ${capacity}`,
      });
    }
    const one = new SlackReplayCache(1);
    assert.equal(one.firstSighting("a", NOW, NOW), true);
    assert.equal(one.firstSighting("a", NOW, NOW), false);
  });
});

describe("verifyMattermostToken", () => {
  const TOKEN = "xr3j5x3p4pfjpe";
  const form = (fields: Record<string, string>) => new URLSearchParams(fields);

  test("accepts the token as a form field or as an Authorization: Token header", () => {
    verifyMattermostToken({}, form({ token: TOKEN }), TOKEN);
    verifyMattermostToken({ authorization: `Token ${TOKEN}` }, form({}), TOKEN);
    verifyMattermostToken({ authorization: `token   ${TOKEN}` }, form({}), TOKEN);
  });

  test("refuses no token, a wrong one, and a header of another shape", () => {
    const missing = unauthenticated("missing slash command token");
    const wrong = unauthenticated("the slash command token does not match this notifier's token");
    assert.deepEqual(
      refusal(() => verifyMattermostToken({}, form({}), TOKEN)),
      missing,
    );
    for (const authorization of [`Bearer ${TOKEN}`, `Token ${TOKEN} extra`, `Token`, `xToken ${TOKEN}`]) {
      assert.deepEqual(
        refusal(() => verifyMattermostToken({ authorization }, form({}), TOKEN)),
        missing,
        authorization,
      );
    }
    assert.deepEqual(
      refusal(() => verifyMattermostToken({}, form({ token: "guess" }), TOKEN)),
      wrong,
    );
    assert.deepEqual(
      refusal(() => verifyMattermostToken({ authorization: "Token guess" }, form({}), TOKEN)),
      wrong,
    );
  });

  test("the form field, when present, is the one checked", () => {
    assert.equal(
      refusal(() =>
        verifyMattermostToken({ authorization: `Token ${TOKEN}` }, form({ token: "guess" }), TOKEN),
      ).status,
      401,
    );
    verifyMattermostToken({ authorization: "Token guess" }, form({ token: TOKEN }), TOKEN);
  });
});
