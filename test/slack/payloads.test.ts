/** What a click, a mention or a slash command asks for: the command, who, where, and where the answer goes. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  commandFromMention,
  MalformedSlackPayload,
  requestFromEventCallback,
  requestsFromInteraction,
  slashCommandRequest,
} from "../../src/slack/payloads.ts";
import { RecentIds } from "../../src/slack/recent-ids.ts";
import { appMentionCallback, blockActionsPayload } from "../support/slack-api/requests.ts";

describe("a button click", () => {
  const click = {
    value: "kubectl describe pod api -n shop",
    user: "U1",
    channel: "C1",
    messageTs: "1.000100",
  };

  it("answers in the thread of the message that carried the button: its own, or the one it is in", () => {
    assert.deepEqual(requestsFromInteraction(blockActionsPayload(click)), [
      { command: "kubectl describe pod api -n shop", user: "U1", channel: "C1", threadTs: "1.000100" },
    ]);
    const inThread = requestsFromInteraction(blockActionsPayload({ ...click, threadTs: "0.000001" }));
    assert.equal(inThread[0]!.threadTs, "0.000001");
  });

  it("runs only patchbay.run buttons (an Action's offers are patchbay.run.<n>); other interactions ask for nothing", () => {
    assert.deepEqual(requestsFromInteraction(blockActionsPayload({ ...click, actionId: "patchbay.run.2" })), [
      { command: "kubectl describe pod api -n shop", user: "U1", channel: "C1", threadTs: "1.000100" },
    ]);
    for (const actionId of [
      "other.app",
      "patchbay.run.0",
      "patchbay.run.",
      "patchbay.run.x",
      "patchbay.runs",
      "patchbay.run.100",
    ])
      assert.deepEqual(requestsFromInteraction(blockActionsPayload({ ...click, actionId })), [], actionId);
    assert.deepEqual(requestsFromInteraction({ type: "view_submission", view: {} }), []);
  });

  it("refuses what Slack does not send", () => {
    const payload = blockActionsPayload(click) as Record<string, unknown>;
    const without = (field: string) =>
      Object.fromEntries(Object.entries(payload).filter(([key]) => key !== field));
    assert.throws(() => requestsFromInteraction("text"), MalformedSlackPayload);
    assert.throws(() => requestsFromInteraction(without("user")), /user is not a JSON object/);
    assert.throws(
      () => requestsFromInteraction({ ...without("message"), container: { channel_id: "C1" } }),
      /message\.ts \(or container\.message_ts\) is missing/,
    );
    // An ephemeral message has no `message`: its container says where it is.
    assert.equal(requestsFromInteraction(without("message"))[0]!.threadTs, "1.000100");
    assert.throws(() => requestsFromInteraction({ ...without("channel"), container: {} }), /channel\.id/);
    assert.throws(() => requestsFromInteraction({ ...payload, actions: "x" }), /without an actions array/);
    assert.throws(
      () => requestsFromInteraction(blockActionsPayload({ ...click, value: "x".repeat(2_001) })),
      /limited to 2000 characters/,
    );
  });
});

describe("a mention", () => {
  const mention = { text: "<@U0BOT> kubectl get pods", user: "U2", channel: "C1", ts: "5.000001" };

  it("answers in its thread, or starts one on the mentioning message", () => {
    assert.deepEqual(requestFromEventCallback(appMentionCallback({ ...mention, eventId: "Ev1" })), {
      command: "kubectl get pods",
      user: "U2",
      channel: "C1",
      threadTs: "5.000001",
      eventId: "Ev1",
    });
    const inThread = requestFromEventCallback(appMentionCallback({ ...mention, threadTs: "4.000001" }));
    assert.equal(inThread!.threadTs, "4.000001");
  });

  it("is not a command when a bot wrote it, or when the event is not a mention", () => {
    const callback = appMentionCallback(mention);
    const byBot = { ...callback, event: { ...(callback.event as object), bot_id: "B1" } };
    assert.equal(requestFromEventCallback(byBot), undefined);
    const message = { ...callback, event: { ...(callback.event as object), type: "message" } };
    assert.equal(requestFromEventCallback(message), undefined);
    assert.equal(requestFromEventCallback({ type: "app_rate_limited" }), undefined);
  });

  it("is the text after the mention, as the person saw it", () => {
    assert.equal(commandFromMention("<@U0BOT>"), "");
    assert.equal(commandFromMention("<@U0BOT|patchbay>   echo hi  "), "echo hi");
    assert.equal(commandFromMention("hey <@U0BOT> echo hi"), "echo hi");
    assert.equal(commandFromMention("<@U0BOT> echo a &lt;b&gt; &amp;&amp; c"), "echo a <b> && c");
    assert.equal(
      commandFromMention("<@U0BOT> kubectl get cm -n <http://app.io|app.io> <https://x.example/y>"),
      "kubectl get cm -n app.io https://x.example/y",
    );
    // A second mention is part of the command, left as written.
    assert.equal(commandFromMention("<@U0BOT> echo <@U0ALICE>"), "echo <@U0ALICE>");
  });
});

describe("a slash command over Socket Mode", () => {
  const slash = {
    text: " echo hi ",
    user_id: "U3",
    channel_id: "C1",
    response_url: "https://hooks.slack.com/commands/1",
  };

  it("is the text, the user, the channel and where to answer", () => {
    const request = slashCommandRequest(slash);
    assert.deepEqual(
      { ...request, responseUrl: request.responseUrl.href },
      {
        command: "echo hi",
        user: "U3",
        channel: "C1",
        responseUrl: "https://hooks.slack.com/commands/1",
      },
    );
  });

  it("refuses a payload without a user or a response_url that is not a URL", () => {
    assert.throws(() => slashCommandRequest({ ...slash, user_id: undefined }), /user_id is missing/);
    assert.throws(
      () => slashCommandRequest({ ...slash, response_url: "not a url" }),
      /response_url is not a URL/,
    );
    assert.throws(() => slashCommandRequest([]), MalformedSlackPayload);
  });
});

describe("recent ids", () => {
  it("knows an id again until newer ones push it out", () => {
    const recent = new RecentIds(3);
    assert.ok(recent.firstSighting("a"));
    assert.ok(!recent.firstSighting("a"));
    for (const id of ["b", "c", "d"]) assert.ok(recent.firstSighting(id));
    assert.equal(recent.size, 3);
    assert.ok(recent.firstSighting("a"), "the oldest gave way");
    assert.ok(!recent.firstSighting("d"));
    assert.throws(() => new RecentIds(0), RangeError);
  });
});
