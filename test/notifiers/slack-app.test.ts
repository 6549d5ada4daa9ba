/**
 * The Slack app notifier against the loopback Slack API stand-in: an alert, its repeat and its
 * resolution in one thread; events without a thread standing alone; Describe buttons only for valid
 * Kubernetes names; 429 honoured (by the outcome and, through a real router, by the retry's timing);
 * bad token, unknown channel; huge events kept within Block Kit limits.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import type { CloudEvent } from "../../src/events/cloudevent.ts";
import {
  createNotifierSink,
  describeCommandOf,
  NotifierConfigError,
  RESOLVED_COLOUR,
  SlackAppSink,
  ThreadRoots,
  withOffers,
  type SlackThreadRoot,
} from "../../src/notifiers/index.ts";
import { LocalSecretResolver } from "../../src/secrets/index.ts";
import { SlackWebApi } from "../../src/slack/web-api.ts";
import { RUN_COMMAND_ACTION_ID } from "../../src/slack/buttons.ts";
import { event, newRouter, waitFor } from "../router/helpers.ts";
import {
  DEFAULT_APP_TOKEN,
  DEFAULT_BOT_TOKEN,
  startSlackApiStandIn,
  type SlackApiStandIn,
  type StoredMessage,
} from "../support/slack-api/index.ts";

const CHANNEL = "C0ALERTS01";
let slack: SlackApiStandIn;
before(async () => {
  slack = await startSlackApiStandIn({
    channels: [
      { id: CHANNEL, name: "alerts" },
      { id: "C0QUIET001", name: "quiet" },
    ],
  });
});
after(() => slack.close());

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The sink as the factory builds it, minus the pacing (tests post faster than Slack allows). */
function sink(options: { token?: string; channel?: string; threads?: ThreadRoots<SlackThreadRoot> } = {}) {
  const api = new SlackWebApi({
    token: options.token ?? DEFAULT_BOT_TOKEN,
    apiUrl: slack.apiUrl,
    rateLimits: {
      "chat.postMessage": { ratePerSecond: 0, burst: 1 },
      "chat.update": { ratePerSecond: 0, burst: 1 },
    },
  });
  return new SlackAppSink({ api, channel: options.channel ?? "alerts", threads: options.threads });
}

const signal = () => AbortSignal.timeout(5000);

function alert(
  id: string,
  fingerprint: string,
  status: "firing" | "resolved",
  summary = "Pod is crash looping",
): CloudEvent {
  return event(id, {
    source: "alertmanager",
    type: `dev.patchbay.prometheus.alert.${status}`,
    subject: "KubePodCrashLooping",
    severity: status === "resolved" ? "info" : "error",
    data: {
      status,
      alertname: "KubePodCrashLooping",
      summary,
      labels: { alertname: "KubePodCrashLooping", namespace: "shop", pod: "api-7c9d8f6b5-x2k4q" },
      fingerprint,
    },
  });
}

function attachment(message: StoredMessage): { color: string; blocks: Record<string, unknown>[] } {
  return message.attachments![0] as { color: string; blocks: Record<string, unknown>[] };
}

function buttonsOf(message: StoredMessage): { action_id?: string; value?: string; text: { text: string } }[] {
  return attachment(message)
    .blocks.filter((block) => block.type === "actions")
    .flatMap((block) => block.elements as { action_id?: string; value?: string; text: { text: string } }[]);
}

describe("Slack app threads", () => {
  test("an alert, its repeat and its resolution land in one thread; the root turns resolved", async () => {
    const notifier = sink();
    const roots = slack.messages(CHANNEL).length;
    assert.deepEqual(await notifier.deliver(alert("a1", "fp-1", "firing"), signal()), { kind: "delivered" });
    assert.deepEqual(await notifier.deliver(alert("a2", "fp-1", "firing", "Still crash looping"), signal()), {
      kind: "delivered",
    });
    assert.deepEqual(await notifier.deliver(alert("a3", "fp-1", "resolved"), signal()), {
      kind: "delivered",
    });

    const messages = slack.messages(CHANNEL);
    assert.equal(messages.length, roots + 1, "one root message for the whole alert");
    const root = messages.at(-1)!;
    const thread = slack.thread(CHANNEL, root.ts)!;
    assert.equal(thread.replies.length, 2);
    assert.ok(thread.replies.every((reply) => reply.thread_ts === root.ts));
    assert.match(thread.replies[0]!.text!, /Still crash looping/);
    assert.match(thread.replies[1]!.text!, /Pod is crash looping/);
    assert.equal(root.edits, 1, "the root was updated once, by the resolution");
    assert.equal(attachment(root).color, RESOLVED_COLOUR);
    assert.match(root.text!, /^Resolved: /);
    assert.match(JSON.stringify(attachment(root).blocks[0]), /✅ Resolved at 2024-05-01T12:00:00.000Z/);
    const updates = slack.calls.filter((call) => call.method === "chat.update");
    assert.equal((updates.at(-1)!.body as { ts: string }).ts, root.ts);
    assert.equal((updates.at(-1)!.body as { channel: string }).channel, CHANNEL);

    // After its resolution the alert firing again is a new incident: a new thread.
    await notifier.deliver(alert("a4", "fp-1", "firing"), signal());
    assert.equal(slack.messages(CHANNEL).length, roots + 2);
  });

  test("two alerts keep two threads, and events without a thread key stand alone", async () => {
    const notifier = sink();
    const roots = slack.messages(CHANNEL).length;
    await notifier.deliver(alert("b1", "fp-b", "firing"), signal());
    await notifier.deliver(alert("c1", "fp-c", "firing"), signal());
    await notifier.deliver(alert("b2", "fp-b", "firing"), signal());
    await notifier.deliver(event("plain-1", { data: { message: "deploy finished" } }), signal());
    await notifier.deliver(event("plain-2", { data: { message: "deploy finished" } }), signal());
    const added = slack.messages(CHANNEL).slice(roots);
    assert.equal(added.length, 4, "b, c and the two plain events");
    assert.deepEqual(
      added.map((message) => message.replies.length),
      [1, 0, 0, 0],
    );
  });

  test("a thread whose root is gone starts again with a new root", async () => {
    const threads = new ThreadRoots<SlackThreadRoot>();
    threads.set(`alerts\nalertmanager/fingerprint/fp-gone`, { channel: CHANNEL, ts: "1600000000.000001" });
    const notifier = sink({ threads });
    const roots = slack.messages(CHANNEL).length;
    assert.equal((await notifier.deliver(alert("g1", "fp-gone", "firing"), signal())).kind, "delivered");
    assert.equal(slack.messages(CHANNEL).length, roots + 1);
    assert.equal((await notifier.deliver(alert("g2", "fp-gone", "firing"), signal())).kind, "delivered");
    assert.equal(slack.messages(CHANNEL).at(-1)!.replies.length, 1, "the next event replies to the new root");
  });

  test("the thread memory is bounded: the least recently used thread is forgotten", () => {
    const threads = new ThreadRoots<string>(2);
    threads.set("a", "1");
    threads.set("b", "2");
    assert.equal(threads.get("a"), "1");
    threads.set("c", "3");
    assert.equal(threads.get("b"), undefined);
    assert.equal(threads.get("a"), "1");
    assert.equal(threads.size, 2);
  });
});

describe("Describe buttons", () => {
  test("an event about a Kubernetes object offers kubectl describe, run by patchbay.run", async () => {
    const k8sEvent = event("k1", {
      source: "kubernetes",
      subject: "pod/shop/web-1",
      data: {
        reason: "BackOff",
        message: "Back-off restarting failed container",
        involvedObject: { kind: "Pod", namespace: "shop", name: "web-1", uid: "u-web-1" },
      },
    });
    await sink().deliver(k8sEvent, signal());
    const [button] = buttonsOf(slack.messages(CHANNEL).at(-1)!).filter((b) => b.action_id);
    assert.deepEqual(button, {
      type: "button",
      text: { type: "plain_text", text: "Describe", emoji: false },
      action_id: RUN_COMMAND_ACTION_ID,
      value: "kubectl describe pod web-1 -n shop",
    });
    assert.equal(RUN_COMMAND_ACTION_ID, "patchbay.run");
  });

  test("an Action's offered commands: one button each after Describe, each with its own action_id; the stand-in takes them", async () => {
    const offered = withOffers(alert("o1", "fp-offers", "firing"), [
      { label: "pod-logs", command: "'kubectl' 'logs' 'api-7c9d8f6b5-x2k4q' '-n' 'shop'" },
      { label: "events", command: "'kubectl' 'get' 'events' '-n' 'shop'" },
    ]);
    assert.deepEqual(await sink().deliver(offered, signal()), { kind: "delivered" });
    const buttons = buttonsOf(slack.messages(CHANNEL).at(-1)!).filter((b) => b.action_id);
    assert.deepEqual(
      buttons.map((b) => [b.action_id, b.text.text, b.value]),
      [
        ["patchbay.run", "Describe", "kubectl describe pod api-7c9d8f6b5-x2k4q -n shop"],
        ["patchbay.run.1", "pod-logs", "'kubectl' 'logs' 'api-7c9d8f6b5-x2k4q' '-n' 'shop'"],
        ["patchbay.run.2", "events", "'kubectl' 'get' 'events' '-n' 'shop'"],
      ],
    );
  });

  test("the object comes from involvedObject, the kubernetes source's data, or an alert's pod labels", () => {
    assert.equal(
      describeCommandOf(event("1", { data: { kind: "Deployment", name: "api", namespace: "shop" } })),
      "kubectl describe deployment api -n shop",
    );
    assert.equal(
      describeCommandOf(event("2", { data: { involvedObject: { kind: "Node", name: "node-1.example" } } })),
      "kubectl describe node node-1.example",
    );
    assert.equal(
      describeCommandOf(alert("3", "fp", "firing")),
      "kubectl describe pod api-7c9d8f6b5-x2k4q -n shop",
    );
    assert.equal(describeCommandOf(event("4", { data: { message: "no object" } })), undefined);
  });

  test("names and namespaces that are not Kubernetes names give no command and no button", async () => {
    const bad = [
      { kind: "Pod", name: "web; rm -rf /", namespace: "shop" },
      { kind: "Pod", name: "--kubeconfig=/etc/x", namespace: "shop" },
      { kind: "Pod", name: "web", namespace: "-A" },
      { kind: "Pod", name: "Web", namespace: "shop" },
      { kind: "Pod", name: "a".repeat(254), namespace: "shop" },
      { kind: "Pod", name: "web", namespace: "n".repeat(64) },
      { kind: "pod --all", name: "web", namespace: "shop" },
      { kind: "Pod", name: "web", namespace: 7 },
    ];
    for (const involvedObject of bad) {
      const unsafe = event("x", { data: { involvedObject } });
      assert.equal(describeCommandOf(unsafe), undefined, JSON.stringify(involvedObject));
      await sink().deliver(unsafe, signal());
      assert.deepEqual(
        buttonsOf(slack.messages(CHANNEL).at(-1)!).filter((b) => b.action_id),
        [],
        JSON.stringify(involvedObject),
      );
    }
  });
});

describe("Slack app delivery outcomes", () => {
  test("HTTP 429 is a retry carrying Retry-After", async () => {
    slack.rateLimitNext(1, 3);
    const outcome = await sink().deliver(event("r1"), signal());
    assert.equal(outcome.kind, "retry");
    assert.equal(outcome.kind === "retry" && outcome.retryAfterMs, 3000);
    assert.match(outcome.kind === "retry" ? outcome.reason : "", /rate limited/);
  });

  test("through the router, the retry after a 429 waits at least Retry-After", async () => {
    const { router } = newRouter();
    cleanups.push(() => router.drain(0));
    router.setNotifiers([
      {
        name: "slack-app",
        type: "slack",
        sink: sink({ channel: "quiet" }),
        delivery: { ratePerSecond: 0, initialBackoffMs: 5, maxBackoffMs: 20, timeoutSeconds: 5 },
      },
    ]);
    const before = slack.calls.length;
    slack.rateLimitNext(1, 1);
    router.publish(event("r2", { data: { message: "after a 429" } }));
    await waitFor(
      () => router.stats().notifiers["slack-app"]!.delivered === 1,
      "delivery after the 429",
      5000,
    );
    const [limited, posted] = slack.calls.slice(before);
    assert.equal(limited!.status, 429);
    assert.equal(posted!.status, 200);
    assert.ok(posted!.at - limited!.at >= 1000, `retried after ${posted!.at - limited!.at} ms`);
    assert.equal(router.stats().notifiers["slack-app"]!.retries, 1);
    assert.match(slack.messages("quiet").at(-1)!.text!, /after a 429/);
  });

  test("a bad token is permanent with invalid_auth named; an unknown channel is permanent", async () => {
    const token = "xoxb-0000-revoked-token";
    const badToken = await sink({ token }).deliver(event("p1"), signal());
    assert.equal(badToken.kind, "permanent");
    assert.match(badToken.kind === "permanent" ? badToken.reason : "", /invalid_auth/);
    assert.ok(!JSON.stringify(badToken).includes(token), "the token is never in the reason");
    const unknown = await sink({ channel: "no-such-channel" }).deliver(event("p2"), signal());
    assert.equal(unknown.kind, "permanent");
    assert.match(unknown.kind === "permanent" ? unknown.reason : "", /channel_not_found/);
  });

  test("refused blocks are sent once more without the link and buttons; a refused bare message is permanent", async () => {
    // The renderer takes any http(s) link without spaces; Slack refuses a button URL it cannot parse.
    const badLink = event("l1", {
      data: {
        message: "link Slack refuses",
        generatorURL: "http://[bad-host/graph",
        involvedObject: { kind: "Pod", name: "web-1", namespace: "shop" },
      },
    });
    const before = slack.calls.length;
    assert.deepEqual(await sink().deliver(badLink, signal()), { kind: "delivered" });
    const [refused, bare] = slack.calls.slice(before);
    assert.equal((refused!.answer as { error: string }).error, "invalid_blocks");
    assert.equal((bare!.answer as { ok: boolean }).ok, true);
    const stored = slack.messages(CHANNEL).at(-1)!;
    assert.match(stored.text!, /link Slack refuses/);
    assert.deepEqual(buttonsOf(stored), [], "the bare message has neither the link nor the Describe button");

    const refusing = await startSlackApiStandIn();
    cleanups.push(() => refusing.close());
    refusing.handle("chat.postMessage", () => ({ ok: false, error: "invalid_blocks" }));
    const api = new SlackWebApi({ token: DEFAULT_BOT_TOKEN, apiUrl: refusing.apiUrl });
    const outcome = await new SlackAppSink({ api, channel: "alerts" }).deliver(badLink, signal());
    assert.equal(outcome.kind, "permanent");
    assert.match(
      outcome.kind === "permanent" ? outcome.reason : "",
      /: invalid_blocks; without its optional parts: Slack chat\.postMessage: invalid_blocks$/,
    );
    assert.equal(refusing.calls.length, 2, "one bare attempt, no more");
  });

  test("a huge event (title, subject, fields, data) stays within Slack's limits, threaded and resolved", async () => {
    const huge = (id: string, status: "firing" | "resolved") => ({
      ...alert(id, "fp-huge", status, "T".repeat(10_000)),
      subject: "S".repeat(5000),
      source: "alertmanager-" + "s".repeat(3000),
      type: "t".repeat(3000),
    });
    const bigData = {
      ...(huge("h1", "firing").data as object),
      blob: "`".repeat(50_000),
      n: Array.from({ length: 2000 }, (_, i) => i),
    };
    const notifier = sink();
    assert.deepEqual(await notifier.deliver({ ...huge("h1", "firing"), data: bigData }, signal()), {
      kind: "delivered",
    });
    assert.deepEqual(await notifier.deliver(huge("h2", "firing"), signal()), { kind: "delivered" });
    assert.deepEqual(await notifier.deliver(huge("h3", "resolved"), signal()), { kind: "delivered" });
    const root = slack.messages(CHANNEL).at(-1)!;
    assert.equal(root.replies.length, 2);
    assert.equal(attachment(root).color, RESOLVED_COLOUR);
  });
});

describe("createNotifierSink in Slack app mode", () => {
  test("resolves the bot token and posts to the channel through apiUrl", async () => {
    const secrets = new LocalSecretResolver({ env: { SLACK_BOT_TOKEN: DEFAULT_BOT_TOKEN } });
    const notifier = await createNotifierSink(
      {
        type: "slack",
        slack: { botToken: { env: "SLACK_BOT_TOKEN" }, channel: "#quiet", apiUrl: slack.apiUrl },
      },
      { secrets },
    );
    assert.ok(notifier instanceof SlackAppSink);
    assert.deepEqual(
      await notifier.deliver(event("f1", { data: { message: "from the factory" } }), signal()),
      {
        kind: "delivered",
      },
    );
    const call = slack.calls.at(-1)!;
    assert.equal(call.headers.authorization, `Bearer ${DEFAULT_BOT_TOKEN}`);
    assert.match(slack.messages("quiet").at(-1)!.text!, /from the factory/);
  });

  test("an app-level token is refused with a clear message that does not show it", async () => {
    const secrets = new LocalSecretResolver({ env: { TOKEN: DEFAULT_APP_TOKEN } });
    await assert.rejects(
      createNotifierSink(
        { type: "slack", slack: { botToken: { env: "TOKEN" }, channel: "alerts" } },
        { secrets },
      ),
      (error: Error) => {
        assert.ok(error instanceof NotifierConfigError);
        assert.match(error.message, /spec\.slack\.botToken: this is an app-level token \(xapp-…\)/);
        assert.ok(!error.message.includes(DEFAULT_APP_TOKEN));
        return true;
      },
    );
  });
});
