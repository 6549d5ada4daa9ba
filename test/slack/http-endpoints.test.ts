/**
 * Slack's app endpoints over HTTP, for those who expose Patchbay: /chat/slack/<notifier>/interactivity
 * and /events on a real ingress, a real executor over gRPC, and the Slack stand-in receiving the answers
 * in their threads. Requests are signed as Slack signs them; forged, stale, replayed and malformed ones
 * are refused and run nothing.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import type { RunningPlugin } from "@patchbay/sdk";
import { CommandDispatcher, type CommandRequest } from "../../src/commands/index.ts";
import type { ChatChannel, RunningIngress } from "../../src/ingress/index.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { SlackChatRequests } from "../../src/slack/chat-requests.ts";
import { SlackWebApi } from "../../src/slack/web-api.ts";
import { serveEcho } from "../commands/echo-plugin.ts";
import { GrpcExecutorDirectory } from "../commands/grpc-executors.ts";
import { FakeSources, json, RecordingSink, startTestIngress } from "../ingress/fakes.ts";
import {
  DEFAULT_BOT_TOKEN,
  DEFAULT_CHANNEL,
  startSlackApiStandIn,
  type SlackApiStandIn,
} from "../support/slack-api/index.ts";
import {
  appMentionCallback,
  blockActionsPayload,
  interactivityForm,
  postSignedBySlack,
  type ButtonClick,
} from "../support/slack-api/requests.ts";
import { contractBreach } from "../reliability/support/http.ts";
import { waitFor } from "../support/wait.ts";

const SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
const CHANNEL = DEFAULT_CHANNEL.id;
const FORM = "application/x-www-form-urlencoded";

describe("Slack app endpoints over HTTP", () => {
  let echo: RunningPlugin;
  let kubectl: RunningPlugin;
  let directory: GrpcExecutorDirectory;
  let slack: SlackApiStandIn;
  let ingress: RunningIngress;
  /** Posts the notifications that carry buttons, unpaced (the notifier's own client is paced as Slack asks). */
  let notifications: SlackWebApi;
  const dispatched: CommandRequest[] = [];

  before(async () => {
    [echo, kubectl, slack] = await Promise.all([
      serveEcho("echo"),
      serveEcho("kubectl"),
      startSlackApiStandIn(),
    ]);
    const common = { aliases: {}, ready: true, reason: "", timeoutMs: 2_000 };
    directory = new GrpcExecutorDirectory([
      { ...common, name: "echo", address: echo.address, prefixes: ["echo"] },
      { ...common, name: "kubectl", address: kubectl.address, prefixes: ["kubectl"] },
    ]);
    const dispatcher = new CommandDispatcher({ executors: directory });
    const commands = {
      dispatch: (request: CommandRequest) => {
        dispatched.push(request);
        return dispatcher.dispatch(request);
      },
    };
    notifications = new SlackWebApi({
      token: DEFAULT_BOT_TOKEN,
      apiUrl: slack.apiUrl,
      rateLimits: { "chat.postMessage": { ratePerSecond: 1_000, burst: 1_000 } },
    });
    const app = new SlackChatRequests({
      notifier: "team-slack",
      commands,
      allowedExecutors: ["echo"],
      api: new SlackWebApi({ token: DEFAULT_BOT_TOKEN, apiUrl: slack.apiUrl }),
      log: createLogger("slack-http-test", "error"),
    });
    const channels: Record<string, ChatChannel> = {
      "team-slack": {
        type: "slack",
        allowedExecutors: ["echo"],
        slackSigningSecret: SIGNING_SECRET,
        slackApp: app,
      },
      "webhook-slack": { type: "slack", slackSigningSecret: SIGNING_SECRET },
    };
    ingress = await startTestIngress(undefined, {
      sources: new FakeSources([]),
      sink: new RecordingSink(),
      commands,
      chat: { lookup: (name) => channels[name] },
    });
  });
  after(async () => {
    await ingress.close(100);
    directory.close();
    await Promise.all([echo.close(), kubectl.close(), slack.close()]);
  });

  /** A notification to click on: a root message the bot posted, as the notifier would. */
  async function notification(threadTs?: string): Promise<string> {
    const text = threadTs ? "an update" : "an alert";
    const posted = await notifications.call(
      "chat.postMessage",
      { channel: CHANNEL, text, ...(threadTs ? { thread_ts: threadTs } : {}) },
      AbortSignal.timeout(5_000),
    );
    if (posted.kind !== "ok") throw new Error(posted.reason);
    return String(posted.body.ts);
  }

  function click(fields: Omit<ButtonClick, "channel" | "user"> & { user?: string }, options = {}) {
    const body = interactivityForm(blockActionsPayload({ user: "U0ALICE", channel: CHANNEL, ...fields }));
    return postSignedBySlack(`${ingress.url}/chat/slack/team-slack/interactivity`, body, {
      secret: SIGNING_SECRET,
      contentType: FORM,
      ...options,
    });
  }

  const replies = (ts: string) => slack.thread(CHANNEL, ts)?.replies ?? [];

  test("a button click is answered 200 at once, run as the clicking user, and answered in the thread", async () => {
    const ts = await notification();
    const response = await click({ value: "echo --whoami", messageTs: ts });
    assert.equal(response.status, 200);
    assert.equal(await response.text(), "");
    const [answer] = await waitFor(() => replies(ts).length > 0 && replies(ts), {
      what: "the threaded answer",
    });
    assert.equal(answer!.thread_ts, ts);
    assert.equal(answer!.text, "`echo --whoami` (echo)\n```\nU0ALICE|team-slack|C0PATCHBAY1\n```");
    const post = slack.calls.findLast((call) => call.method === "chat.postMessage")!;
    assert.equal(post.headers.authorization, `Bearer ${DEFAULT_BOT_TOKEN}`);
    assert.equal((post.body as { thread_ts: string }).thread_ts, ts);
  });

  test("a click on a reply in a thread is answered in that thread", async () => {
    const root = await notification();
    const replyTs = await notification(root);
    await click({ value: "echo again", messageTs: replyTs, threadTs: root });
    await waitFor(() => replies(root).some((message) => message.text?.includes("again")), {
      what: "the answer in the root's thread",
    });
  });

  test("a click on an executor this notifier may not use is refused, with the reason in the thread", async () => {
    const ts = await notification();
    const before = dispatched.length;
    await click({ value: "kubectl get pods", messageTs: ts });
    const [answer] = await waitFor(() => replies(ts).length > 0 && replies(ts), { what: "the refusal" });
    assert.match(
      answer!.text!,
      /`kubectl get pods` \(kubectl\) — not allowed: this channel may not use the executor "kubectl"/,
    );
    assert.deepEqual(
      dispatched.slice(before).map((r) => r.allowedExecutors),
      [["echo"]],
    );
  });

  test("a forged signature is refused with 401 and nothing runs", async () => {
    const ts = await notification();
    const before = dispatched.length;
    const response = await click(
      { value: "echo forged", messageTs: ts },
      { signature: "v0=" + "0".repeat(64) },
    );
    assert.equal(response.status, 401);
    const body = (await json(response)) as { error: { code: string; message: string } };
    assert.equal(body.error.code, "unauthenticated");
    assert.match(body.error.message, /X-Slack-Signature does not match/);
    const wrongSecret = await click({ value: "echo forged", messageTs: ts }, { secret: "not-the-secret" });
    assert.equal(wrongSecret.status, 401);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(dispatched.length, before);
    assert.deepEqual(replies(ts), []);
  });

  test("a stale timestamp is refused with 401 (replay protection) and a replay within the window with 409", async () => {
    const ts = await notification();
    const before = dispatched.length;
    const stale = await click(
      { value: "echo stale", messageTs: ts },
      { timestamp: Math.floor(Date.now() / 1000) - 600 },
    );
    assert.equal(stale.status, 401);
    assert.match(((await json(stale)) as { error: { message: string } }).error.message, /replay protection/);
    assert.equal(dispatched.length, before);

    const timestamp = Math.floor(Date.now() / 1000);
    assert.equal((await click({ value: "echo once", messageTs: ts }, { timestamp })).status, 200);
    const replay = await click({ value: "echo once", messageTs: ts }, { timestamp });
    assert.equal(replay.status, 409);
    await waitFor(() => replies(ts).length === 1, { what: "one answer" });
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(replies(ts).length, 1);
  });

  test("malformed interactivity requests get 400 naming the problem; the server keeps serving", async () => {
    const post = (body: string) =>
      postSignedBySlack(`${ingress.url}/chat/slack/team-slack/interactivity`, body, {
        secret: SIGNING_SECRET,
        contentType: FORM,
      });
    const cases: [string, RegExp][] = [
      ["text=hello", /no payload field/],
      ["payload=%7Bnot-json", /payload field is not JSON/],
      [interactivityForm([1, 2]), /not a JSON object/],
      [
        interactivityForm({
          type: "block_actions",
          actions: [{ action_id: "patchbay.run", value: "echo x" }],
        }),
        /user is not a JSON object/,
      ],
      [
        interactivityForm({
          ...blockActionsPayload({ value: "", user: "U1", channel: CHANNEL, messageTs: "1.2" }),
        }),
        /the button's value is missing/,
      ],
    ];
    for (const [body, message] of cases) {
      const response = await post(body);
      const answer = (await json(response)) as { error: { code: string; message: string } };
      assert.equal(response.status, 400, body);
      assert.equal(answer.error.code, "malformed");
      assert.match(answer.error.message, message);
    }
    // Other interactions (a shortcut, another app's button) are acknowledged and run nothing.
    const before = dispatched.length;
    const other = await post(interactivityForm({ type: "shortcut", callback_id: "x", user: { id: "U1" } }));
    assert.equal(other.status, 200);
    assert.equal(dispatched.length, before);
  });

  test("an oversized body is refused with 413 before it is read", async () => {
    const response = await postSignedBySlack(
      `${ingress.url}/chat/slack/team-slack/interactivity`,
      `payload=${"x".repeat(300 * 1024)}`,
      { secret: SIGNING_SECRET, contentType: FORM },
    );
    assert.equal(response.status, 413);
  });

  test("notifiers without a Slack app, and unknown ones, answer 404", async () => {
    const body = JSON.stringify({ type: "url_verification", challenge: "c" });
    const webhookOnly = await postSignedBySlack(`${ingress.url}/chat/slack/webhook-slack/events`, body, {
      secret: SIGNING_SECRET,
    });
    assert.equal(webhookOnly.status, 404);
    const answer = (await json(webhookOnly)) as { error: { code: string; message: string } };
    assert.equal(answer.error.code, "chat-not-configured");
    assert.match(answer.error.message, /spec\.slack\.botToken/);
    const unknown = await postSignedBySlack(`${ingress.url}/chat/slack/nobody/interactivity`, body, {
      secret: SIGNING_SECRET,
    });
    assert.equal(unknown.status, 404);
    const get = await fetch(`${ingress.url}/chat/slack/team-slack/events`);
    assert.equal(get.status, 405);
  });

  test("Events API: url_verification is answered with the challenge, once signed", async () => {
    const body = JSON.stringify({
      token: "x",
      challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
      type: "url_verification",
    });
    const response = await postSignedBySlack(`${ingress.url}/chat/slack/team-slack/events`, body, {
      secret: SIGNING_SECRET,
    });
    assert.equal(response.status, 200);
    assert.deepEqual(await json(response), {
      challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
    });
    const unsigned = await fetch(`${ingress.url}/chat/slack/team-slack/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    assert.equal(unsigned.status, 401);
  });

  test("Events API: a mention is answered in its thread, and a retried event runs once", async () => {
    const ts = await notification();
    const callback = appMentionCallback({
      text: "<@U0PATCHBOT> echo hello &amp; <http://example.com|example.com>",
      user: "U0BOB",
      channel: CHANNEL,
      ts: "1700000999.000001",
      threadTs: ts,
    });
    const url = `${ingress.url}/chat/slack/team-slack/events`;
    const first = await postSignedBySlack(url, JSON.stringify(callback), { secret: SIGNING_SECRET });
    assert.equal(first.status, 200);
    // Slack retries an event it thinks went unanswered: a new request (new signature), the same event_id.
    const retry = await postSignedBySlack(url, JSON.stringify(callback), {
      secret: SIGNING_SECRET,
      timestamp: Math.floor(Date.now() / 1000) - 1,
    });
    assert.equal(retry.status, 200);
    const [answer] = await waitFor(() => replies(ts).length > 0 && replies(ts), { what: "the answer" });
    assert.equal(answer!.text, "`echo hello &amp; example.com` (echo)\n```\nhello &amp; example.com\n```");
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(replies(ts).length, 1);
    assert.equal(dispatched.at(-1)!.user, "U0BOB");
  });

  test("Events API: a mention with nothing after it answers with the help", async () => {
    const ts = await notification();
    const callback = appMentionCallback({
      text: "<@U0PATCHBOT>",
      user: "U0BOB",
      channel: CHANNEL,
      ts,
      threadTs: undefined,
    });
    const response = await postSignedBySlack(
      `${ingress.url}/chat/slack/team-slack/events`,
      JSON.stringify(callback),
      {
        secret: SIGNING_SECRET,
      },
    );
    assert.equal(response.status, 200);
    const [answer] = await waitFor(() => replies(ts).length > 0 && replies(ts), { what: "the help" });
    assert.match(answer!.text!, /Commands available in this channel/);
    assert.match(answer!.text!, /`echo` \(echo\)/);
    assert.doesNotMatch(answer!.text!, /kubectl/);
  });
  test("fuzzed, correctly signed bodies: never a 5xx, every refusal a JSON error, the server keeps serving", async () => {
    const ts = await notification();
    // Shapes near what Slack sends, with any field replaced by anything, and anything at all.
    const clicked = blockActionsPayload({
      value: "echo fuzz",
      user: "U0FUZZ",
      channel: CHANNEL,
      messageTs: ts,
    });
    const mentioned = appMentionCallback({
      text: "<@U0BOT> echo fuzz",
      user: "U0FUZZ",
      channel: CHANNEL,
      ts,
    });
    const mutated = (base: Record<string, unknown>) =>
      fc
        .record({ key: fc.constantFrom(...Object.keys(base)), value: fc.jsonValue() })
        .map(({ key, value }) => ({ ...base, [key]: value }));
    const json = fc.oneof(mutated(clicked), mutated(mentioned), fc.jsonValue(), fc.string());
    const requests = fc.oneof(
      json.map((value) => ({
        endpoint: "interactivity",
        body: interactivityForm(value),
        contentType: FORM,
      })),
      json.map((value) => ({
        endpoint: "events",
        body: JSON.stringify(value),
        contentType: "application/json",
      })),
      fc.string().map((body) => ({ endpoint: "interactivity", body, contentType: FORM })),
      fc.string().map((body) => ({ endpoint: "events", body, contentType: "application/json" })),
    );
    const statuses: Record<number, number> = {};
    await fc.assert(
      fc.asyncProperty(requests, async ({ endpoint, body, contentType }) => {
        const response = await postSignedBySlack(`${ingress.url}/chat/slack/team-slack/${endpoint}`, body, {
          secret: SIGNING_SECRET,
          contentType,
        });
        const answer = { status: response.status, headers: {}, body: await response.text() };
        statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
        const breach = contractBreach(answer);
        assert.equal(breach, undefined, `${endpoint} ${body.slice(0, 200)}: ${breach}`);
      }),
      { numRuns: 200 },
    );
    assert.ok((statuses[400] ?? 0) > 0 && (statuses[200] ?? 0) > 0, JSON.stringify(statuses));
    const still = await click({ value: "echo still serving", messageTs: ts });
    assert.equal(still.status, 200);
    await waitFor(() => replies(ts).some((reply) => reply.text?.includes("still serving")), {
      what: "an answer after the fuzzing",
      timeoutMs: 20_000,
    });
  });
});
