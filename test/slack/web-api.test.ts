/** SlackWebApi against the loopback Slack stand-in: what it sends, and how it classifies each answer. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { SlackWebApi } from "../../src/slack/web-api.ts";
import { DEFAULT_BOT_TOKEN, startSlackApiStandIn, type SlackApiStandIn } from "../support/slack-api/index.ts";

let slack: SlackApiStandIn;
before(async () => {
  slack = await startSlackApiStandIn({
    channels: [
      { id: "C0ALERTS01", name: "alerts" },
      { id: "C0OTHER001", name: "other" },
      { id: "C0OUTSIDE1", name: "outside", member: false },
    ],
  });
});
after(() => slack.close());

const signal = () => AbortSignal.timeout(5000);
const api = (token = DEFAULT_BOT_TOKEN) =>
  new SlackWebApi({
    token,
    apiUrl: slack.apiUrl,
    rateLimits: { "chat.postMessage": { ratePerSecond: 0, burst: 1 } },
  });

describe("SlackWebApi", () => {
  test("posts JSON with the bot token as a Bearer header and returns Slack's answer", async () => {
    const result = await api().call("chat.postMessage", { channel: "#alerts", text: "hello" }, signal());
    assert.equal(result.kind, "ok");
    assert.equal(result.kind === "ok" && result.body.channel, "C0ALERTS01");
    assert.match(String(result.kind === "ok" && result.body.ts), /^\d{10}\.\d{6}$/);
    const call = slack.calls.at(-1)!;
    assert.equal(call.method, "chat.postMessage");
    assert.equal(call.headers.authorization, `Bearer ${DEFAULT_BOT_TOKEN}`);
    assert.equal(call.headers["content-type"], "application/json; charset=utf-8");
    assert.equal((call.answer as { warning?: string }).warning, undefined, "no missing_charset warning");
    assert.equal(slack.messages("alerts").at(-1)!.text, "hello");
  });

  test("each message gets a unique, increasing ts", async () => {
    const client = api();
    const tss: string[] = [];
    for (let i = 0; i < 3; i++) {
      const result = await client.call(
        "chat.postMessage",
        { channel: "C0OTHER001", text: `m${i}` },
        signal(),
      );
      assert.equal(result.kind, "ok");
      tss.push(String(result.kind === "ok" && result.body.ts));
    }
    assert.deepEqual([...tss].sort(), tss);
    assert.equal(new Set(tss).size, 3);
  });

  test("a bad token is permanent, names invalid_auth and never shows the token", async () => {
    const token = "xoxb-9999-not-a-real-token";
    const result = await api(token).call("chat.postMessage", { channel: "alerts", text: "x" }, signal());
    assert.equal(result.kind, "permanent");
    assert.equal(result.kind === "permanent" && result.error, "invalid_auth");
    assert.match(result.kind === "permanent" ? result.reason : "", /chat\.postMessage: invalid_auth/);
    assert.ok(!JSON.stringify(result).includes(token));
    const none = await api("").call("auth.test", {}, signal());
    assert.equal(none.kind === "permanent" && none.error, "not_authed");
  });

  test("an unknown channel and a channel the bot is not in are permanent, named", async () => {
    const unknown = await api().call("chat.postMessage", { channel: "C0NOWHERE1", text: "x" }, signal());
    assert.deepEqual(unknown.kind === "permanent" && unknown.error, "channel_not_found");
    const outside = await api().call("chat.postMessage", { channel: "outside", text: "x" }, signal());
    assert.deepEqual(outside.kind === "permanent" && outside.error, "not_in_channel");
  });

  test("HTTP 429 is a retry carrying Retry-After in ms, and the method is held back meanwhile", async () => {
    const client = api();
    slack.rateLimitNext(1, 2);
    const first = await client.call("chat.update", { channel: "alerts", ts: "1", text: "x" }, signal());
    assert.equal(first.kind, "retry");
    assert.equal(first.kind === "retry" && first.retryAfterMs, 2000);
    assert.equal(first.kind === "retry" && first.error, "ratelimited");
    const callsBefore = slack.calls.length;
    const held = await client.call("chat.update", { channel: "alerts", ts: "1", text: "x" }, signal());
    assert.equal(held.kind, "retry");
    assert.ok(held.kind === "retry" && held.retryAfterMs! > 1000 && held.retryAfterMs! <= 2000);
    assert.equal(slack.calls.length, callsBefore, "a held-back call does not reach Slack");
    const other = await client.call("auth.test", {}, signal());
    assert.equal(other.kind, "ok", "other methods are not held back");
    slack.rateLimitNext(1, 1);
    assert.equal((await client.call("auth.test", {}, signal())).kind, "retry");
    const unpaced = await client.call("auth.test", {}, signal());
    assert.ok(
      unpaced.kind === "retry" && unpaced.retryAfterMs! <= 1000,
      "a method without a bucket is held too",
    );
  });

  test("Slack's transient errors, 5xx, a non-JSON answer and a refused connection are retries", async () => {
    slack.handle("test.transient", () => ({ ok: false, error: "internal_error" }));
    slack.handle("test.unavailable", () => ({ httpStatus: 503, json: { ok: false } }));
    slack.handle("test.notslack", () => ({ httpStatus: 200, json: {} }));
    const client = api();
    const transient = await client.call("test.transient", {}, signal());
    assert.equal(transient.kind === "retry" && transient.error, "internal_error");
    const unavailable = await client.call("test.unavailable", {}, signal());
    assert.equal(unavailable.kind === "retry" && unavailable.error, "http_503");
    const notSlack = await client.call("test.notslack", {}, signal());
    assert.equal(notSlack.kind === "retry" && notSlack.error, "bad_response");
    const closed = await startSlackApiStandIn();
    const gone = new SlackWebApi({ token: DEFAULT_BOT_TOKEN, apiUrl: closed.apiUrl });
    await closed.close();
    const refused = await gone.call("auth.test", {}, signal());
    assert.equal(refused.kind === "retry" && refused.error, "network");
    assert.match(refused.kind === "retry" ? refused.reason : "", /ECONNREFUSED/);
  });

  test("paces chat.postMessage per channel: a burst, then the sustained rate", async () => {
    const client = new SlackWebApi({
      token: DEFAULT_BOT_TOKEN,
      apiUrl: slack.apiUrl,
      rateLimits: { "chat.postMessage": { ratePerSecond: 5, burst: 2, perChannel: true } },
    });
    const started = Date.now();
    for (let i = 0; i < 4; i++) {
      assert.equal(
        (await client.call("chat.postMessage", { channel: "alerts", text: `${i}` }, signal())).kind,
        "ok",
      );
    }
    const elapsed = Date.now() - started;
    // 2 at once, then one per 200 ms: the 4th no sooner than ~400 ms after the start.
    assert.ok(elapsed >= 380, `4 messages in ${elapsed} ms`);
    // At one message per 5 s a second one to "alerts" would wait; "other" has its own bucket and goes at once.
    const slow = new SlackWebApi({
      token: DEFAULT_BOT_TOKEN,
      apiUrl: slack.apiUrl,
      rateLimits: { "chat.postMessage": { ratePerSecond: 0.2, burst: 1, perChannel: true } },
    });
    assert.equal(
      (await slow.call("chat.postMessage", { channel: "alerts", text: "a" }, signal())).kind,
      "ok",
    );
    const otherStarted = Date.now();
    assert.equal((await slow.call("chat.postMessage", { channel: "other", text: "b" }, signal())).kind, "ok");
    assert.ok(
      Date.now() - otherStarted < 2500,
      "another channel has its own bucket (the same one waits 5 s)",
    );
  });

  test("a channel named by name and by ID shares one bucket", async () => {
    const client = new SlackWebApi({
      token: DEFAULT_BOT_TOKEN,
      apiUrl: slack.apiUrl,
      rateLimits: { "chat.postMessage": { ratePerSecond: 0.2, burst: 1, perChannel: true } },
    });
    const byName = await client.call("chat.postMessage", { channel: "#alerts", text: "a" }, signal());
    assert.equal(byName.kind === "ok" && byName.body.channel, "C0ALERTS01");
    const byId = await client.call(
      "chat.postMessage",
      { channel: "C0ALERTS01", text: "b" },
      AbortSignal.timeout(300),
    );
    assert.equal(
      byId.kind === "retry" && byId.error,
      "aborted",
      "the second message waits for the first's bucket",
    );
  });

  test("a wait for the rate limit ends when the signal aborts", async () => {
    const client = new SlackWebApi({
      token: DEFAULT_BOT_TOKEN,
      apiUrl: slack.apiUrl,
      rateLimits: { "chat.update": { ratePerSecond: 0.01, burst: 1 } },
    });
    await client.call("chat.update", { channel: "alerts", ts: "0", text: "x" }, signal());
    const started = Date.now();
    const result = await client.call(
      "chat.update",
      { channel: "alerts", ts: "0", text: "x" },
      AbortSignal.timeout(100),
    );
    assert.equal(result.kind === "retry" && result.error, "aborted");
    assert.ok(Date.now() - started < 1000);
  });
});

describe("the Slack stand-in refuses what Slack refuses", () => {
  const raw = (method: string, body: string, headers: Record<string, string>) =>
    fetch(`${slack.apiUrl}${method}`, { method: "POST", body, headers }).then(async (response) => ({
      status: response.status,
      json: (await response.json()) as Record<string, unknown>,
    }));
  const bot = { authorization: `Bearer ${DEFAULT_BOT_TOKEN}` };

  test("a body that is not JSON, or not declared JSON", async () => {
    assert.equal(
      (await raw("auth.test", "{", { ...bot, "content-type": "application/json" })).json.error,
      "invalid_json",
    );
    assert.equal(
      (await raw("auth.test", "[]", { ...bot, "content-type": "application/json" })).json.error,
      "json_not_object",
    );
    assert.equal(
      (await raw("auth.test", "{}", { ...bot, "content-type": "text/html" })).json.error,
      "invalid_post_type",
    );
    const noCharset = await raw("auth.test", "{}", { ...bot, "content-type": "application/json" });
    assert.equal(noCharset.json.ok, true);
    assert.equal(noCharset.json.warning, "missing_charset");
    assert.equal(
      (await raw("no.such.method", "{}", { ...bot, "content-type": "application/json" })).json.error,
      "unknown_method",
    );
  });

  test("too many blocks, an over-long header, bad buttons, an unknown thread or message", async () => {
    const client = api();
    const tooMany = await client.call(
      "chat.postMessage",
      { channel: "alerts", blocks: Array.from({ length: 51 }, () => ({ type: "divider" })) },
      signal(),
    );
    assert.equal(tooMany.kind === "permanent" && tooMany.error, "invalid_blocks");
    assert.match(
      tooMany.kind === "permanent" ? tooMany.reason : "",
      /no more than 50 items \[json-pointer:\/blocks\]/,
    );
    const header = await client.call(
      "chat.postMessage",
      {
        channel: "alerts",
        attachments: [{ blocks: [{ type: "header", text: { type: "plain_text", text: "h".repeat(151) } }] }],
      },
      signal(),
    );
    assert.match(
      header.kind === "permanent" ? header.reason : "",
      /less than 151 characters \[json-pointer:\/attachments\/0\/blocks\/0\/text\/text\]/,
    );
    const button = (extra: Record<string, unknown>) => ({
      channel: "alerts",
      blocks: [
        {
          type: "actions",
          elements: [{ type: "button", text: { type: "plain_text", text: "Go" }, ...extra }],
        },
      ],
    });
    for (const [extra, pointer] of [
      [{ value: "v".repeat(2001) }, "value"],
      [{ action_id: "a".repeat(256) }, "action_id"],
    ] as const) {
      const refused = await client.call("chat.postMessage", button(extra), signal());
      assert.match(refused.kind === "permanent" ? refused.reason : "", new RegExp(`elements/0/${pointer}`));
    }
    const fine = await client.call(
      "chat.postMessage",
      button({ value: "v".repeat(2000), action_id: "a".repeat(255) }),
      signal(),
    );
    assert.equal(fine.kind, "ok");
    const orphan = await client.call(
      "chat.postMessage",
      { channel: "alerts", text: "r", thread_ts: "1.000001" },
      signal(),
    );
    assert.equal(orphan.kind === "permanent" && orphan.error, "thread_not_found");
    const missing = await client.call(
      "chat.update",
      { channel: "alerts", ts: "1.000001", text: "u" },
      signal(),
    );
    assert.equal(missing.kind === "permanent" && missing.error, "message_not_found");
    const long = await client.call(
      "chat.postMessage",
      { channel: "alerts", text: "x".repeat(40_001) },
      signal(),
    );
    assert.equal(long.kind === "permanent" && long.error, "msg_too_long");
    const empty = await client.call("chat.postMessage", { channel: "alerts" }, signal());
    assert.equal(empty.kind === "permanent" && empty.error, "no_text");
  });

  test("keeps replies in their thread and applies updates to the root", async () => {
    const client = api();
    const root = await client.call("chat.postMessage", { channel: "other", text: "root" }, signal());
    assert.equal(root.kind, "ok");
    const ts = String(root.kind === "ok" && root.body.ts);
    const reply = await client.call(
      "chat.postMessage",
      { channel: "other", text: "reply", thread_ts: ts },
      signal(),
    );
    assert.equal(reply.kind === "ok" && (reply.body.message as { thread_ts?: string }).thread_ts, ts);
    const updated = await client.call(
      "chat.update",
      { channel: "C0OTHER001", ts, text: "root, edited" },
      signal(),
    );
    assert.equal(updated.kind, "ok");
    const thread = slack.thread("other", ts)!;
    assert.equal(thread.root.text, "root, edited");
    assert.equal(thread.root.edits, 1);
    assert.deepEqual(
      thread.replies.map((r) => r.text),
      ["reply"],
    );
    assert.ok(!slack.messages("other").some((m) => m.text === "reply"), "a reply is not a root message");
  });
});
