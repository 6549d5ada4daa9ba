/**
 * The bus's pure rules, without a server: how names become subject tokens and message ids (the dedup key
 * every replica shares), and how a delivery attempt's outcome becomes a settlement (ack, retry after how
 * long, dead letter with what reason).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { headerText, messageId, nameToken, tokenToName } from "../../src/bus/keys.ts";
import { MAX_RETRY_AFTER_MS, settlementFor, type RetryPolicy } from "../../src/bus/retry-policy.ts";

describe("names on the wire", () => {
  it("a Kubernetes name is its own token; anything else is hex between underscores", () => {
    assert.equal(nameToken("team-slack-2"), "team-slack-2");
    assert.equal(nameToken("a.b"), "a_2e_b");
    assert.equal(nameToken("a*>"), "a_2a__3e_");
    assert.equal(nameToken("x y"), "x_20_y");
    assert.equal(nameToken("_"), "_5f_");
    assert.equal(nameToken("é"), "_e9_");
    assert.equal(nameToken("😀"), "_1f600_");
    assert.equal(nameToken(""), "__");
    assert.equal(tokenToName("__"), "");
  });

  it("tokens decode back to the name, and are always one valid subject token and consumer name", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), (name) => {
        const token = nameToken(name);
        assert.match(token, /^[-\w]+$/);
        assert.equal(tokenToName(token), name);
      }),
      { numRuns: 500 },
    );
  });

  it("message ids are <source>/<id>, with %, control characters and the source's / encoded", () => {
    assert.equal(messageId("alerts", "evt-1"), "alerts/evt-1");
    assert.equal(messageId("alerts", "a/b"), "alerts/a/b");
    assert.equal(messageId("a/b", "c"), "a%2fb/c");
    assert.notEqual(messageId("a/b", "c"), messageId("a", "b/c"));
    assert.equal(messageId("s", "50%\r\n\u007f\u0000x"), "s/50%25%0d%0a%7f%00x");
    assert.equal(messageId("s", " !~"), "s/ !~", "printable characters stay");
  });

  it("distinct (source, id) pairs never share a message id, and ids carry no line break", () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 12 }),
        fc.string({ maxLength: 12 }),
        fc.string({ maxLength: 12 }),
        fc.string({ maxLength: 12 }),
        (s1, i1, s2, i2) => {
          fc.pre(s1 !== s2 || i1 !== i2);
          assert.notEqual(messageId(s1, i1), messageId(s2, i2));
          assert.doesNotMatch(messageId(s1, i1), /[\r\n]/);
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it("header text is one line of at most `max` characters", () => {
    assert.equal(headerText("a\r\nb\nc"), "a b c");
    assert.equal(headerText("abcdef", 6), "abcdef");
    assert.equal(headerText("abcdefg", 6), "abcde…");
    assert.equal(headerText("x".repeat(1_000)).length, 1_000);
    assert.equal(headerText("x".repeat(1_001)), `${"x".repeat(999)}…`);
  });
});

describe("a delivery's outcome as a settlement", () => {
  const policy: RetryPolicy = { maxRetries: 3, initialBackoffMs: 100, maxBackoffMs: 1_000 };
  const retry = (extra: { retryAfterMs?: number } = {}) => ({
    kind: "retry" as const,
    reason: "HTTP 503",
    ...extra,
  });

  it("delivered is an ack; permanent is a dead letter with the platform's reason", () => {
    assert.deepEqual(settlementFor({ kind: "delivered" }, 1, policy), { kind: "ack" });
    assert.deepEqual(settlementFor({ kind: "permanent", reason: "HTTP 400: bad" }, 2, policy), {
      kind: "dead-letter",
      reason: "HTTP 400: bad",
    });
  });

  it("backs off exponentially within [ceiling/2, ceiling], capped at maxBackoffMs", () => {
    const low = () => 0;
    const high = () => 1;
    assert.deepEqual(settlementFor(retry(), 1, policy, low), { kind: "retry", delayMs: 50 });
    assert.deepEqual(settlementFor(retry(), 1, policy, high), { kind: "retry", delayMs: 100 });
    assert.deepEqual(settlementFor(retry(), 2, policy, high), { kind: "retry", delayMs: 200 });
    assert.deepEqual(settlementFor(retry(), 3, policy, low), { kind: "retry", delayMs: 200 });
    const wide: RetryPolicy = { maxRetries: 10, initialBackoffMs: 100, maxBackoffMs: 1_000 };
    assert.deepEqual(
      settlementFor(retry(), 6, wide, high),
      { kind: "retry", delayMs: 1_000 },
      "3,200 capped",
    );
    assert.deepEqual(settlementFor(retry(), 6, wide, low), { kind: "retry", delayMs: 500 });
    assert.deepEqual(
      settlementFor(retry(), 1, policy, () => 0.5),
      { kind: "retry", delayMs: 75 },
    );
  });

  it("honours Retry-After over the backoff, never negative and at most an hour", () => {
    assert.deepEqual(settlementFor(retry({ retryAfterMs: 2_000 }), 1, policy), {
      kind: "retry",
      delayMs: 2_000,
    });
    assert.deepEqual(settlementFor(retry({ retryAfterMs: 0 }), 1, policy), { kind: "retry", delayMs: 0 });
    assert.deepEqual(settlementFor(retry({ retryAfterMs: -5 }), 1, policy), { kind: "retry", delayMs: 0 });
    assert.deepEqual(settlementFor(retry({ retryAfterMs: 10 * 3_600_000 }), 1, policy), {
      kind: "retry",
      delayMs: MAX_RETRY_AFTER_MS,
    });
    assert.equal(MAX_RETRY_AFTER_MS, 3_600_000);
  });

  it("after maxRetries the next failure is a dead letter that says how many attempts", () => {
    assert.equal(settlementFor(retry(), 3, policy).kind, "retry", "the third attempt is the second retry");
    assert.equal(settlementFor(retry(), 4, policy).kind, "dead-letter", "1 attempt + 3 retries");
    assert.deepEqual(settlementFor(retry(), 4, policy), {
      kind: "dead-letter",
      reason: "gave up after 4 attempts: HTTP 503",
    });
    assert.deepEqual(settlementFor(retry({ retryAfterMs: 10 }), 1, { ...policy, maxRetries: 0 }), {
      kind: "dead-letter",
      reason: "gave up after 1 attempt: HTTP 503",
    });
  });
});
