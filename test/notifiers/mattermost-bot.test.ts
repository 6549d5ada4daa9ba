/**
 * The Mattermost bot notifier against the REST API stand-in: threads by alert fingerprint (root,
 * replies with root_id, the root patched when resolved), the Describe button and its signed context,
 * and what each refusal means for retrying.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import type { NotifierSpec } from "../../src/api/v1alpha1/index.ts";
import type { CloudEvent } from "../../src/events/cloudevent.ts";
import { namingCluster } from "../../src/notifiers/cluster.ts";
import { createNotifierSink, withOffers, type NotifierSink } from "../../src/notifiers/index.ts";
import { actionKeyFromToken, verifyActionContext } from "../../src/mattermost/action-context.ts";
import { MattermostApi } from "../../src/mattermost/api.ts";
import { MattermostBotSink } from "../../src/notifiers/mattermost-bot.ts";
import { LocalSecretResolver } from "../../src/secrets/index.ts";
import { answer, startReceiver } from "./receiver.ts";
import { ThreadRoots } from "../../src/notifiers/thread-roots.ts";
import { newRouter } from "../router/helpers.ts";
import { waitFor } from "../support/wait.ts";
import { newId, startMattermostApi, type MattermostStandIn } from "../support/mattermost-api/index.ts";

const TOKEN = "9pzq8kx3ofbo7ge5rymhrnojxw";
const CHANNEL = newId();

function alert(status: "firing" | "resolved", summary: string, fingerprint = "3f1c9a0b7e2d4c55"): CloudEvent {
  return {
    specversion: "1.0",
    id: `${fingerprint}-${status}-${summary.length}`,
    source: "prometheus",
    type: `dev.patchbay.alert.${status}`,
    time: "2026-12-01T04:00:00Z",
    severity: status === "firing" ? "critical" : "info",
    data: {
      fingerprint,
      status,
      labels: { alertname: "PodCrashLooping", pod: "web-1", namespace: "shop" },
      annotations: { summary },
    },
  };
}

const signal = () => AbortSignal.timeout(5_000);

describe("Mattermost bot notifier", () => {
  let mattermost: MattermostStandIn;
  let sink: NotifierSink;

  before(async () => {
    mattermost = await startMattermostApi({ botToken: TOKEN, channelIds: [CHANNEL] });
  });
  after(() => mattermost.close());
  beforeEach(async () => {
    process.env.PATCHBAY_TEST_MM_TOKEN = `${TOKEN}\n`;
    sink = await botSink({ actionsUrl: "https://patchbay.example.com/" });
  });

  function botSink(extra: Record<string, unknown> = {}): Promise<NotifierSink> {
    const spec: NotifierSpec = {
      type: "mattermost",
      mattermost: {
        serverUrl: mattermost.url,
        botToken: { env: "PATCHBAY_TEST_MM_TOKEN" },
        channelId: CHANNEL,
        ...extra,
      },
    };
    return createNotifierSink(spec, { secrets: new LocalSecretResolver(), name: "ops-mm" });
  }

  it("posts an alert, its update and its resolution in one thread, and marks the root resolved", async () => {
    const before = mattermost.posts().length;
    assert.deepEqual(await sink.deliver(alert("firing", "web-1 restarts"), signal()), { kind: "delivered" });
    assert.deepEqual(await sink.deliver(alert("firing", "web-1 restarts again"), signal()), {
      kind: "delivered",
    });
    assert.deepEqual(await sink.deliver(alert("resolved", "web-1 is stable"), signal()), {
      kind: "delivered",
    });
    const [root, update, resolution] = mattermost.posts().slice(before);
    assert.ok(root && update && resolution);
    assert.equal(root.root_id, "");
    assert.equal(update.root_id, root.id);
    assert.equal(resolution.root_id, root.id);
    assert.equal(mattermost.posts().length - before, 3, "the resolution patches the root, it adds no root");
    // The root now says it is resolved and shows the resolving event.
    assert.match(root.message, /Resolved/);
    assert.ok(root.edit_at > 0);
    const rootAttachment = (root.props.attachments as { title: string; color: string }[])[0]!;
    assert.match(rootAttachment.title, /web-1 is stable/);
    assert.equal(rootAttachment.color, "#2eb886");
    const patches = mattermost.calls.filter((call) => call.method === "PUT");
    assert.equal(patches.at(-1)?.path, `/api/v4/posts/${root.id}/patch`);
    for (const call of mattermost.calls) assert.equal(call.authorization, `Bearer ${TOKEN}`);
    // The thread is over: the same alert firing again starts a new one.
    await sink.deliver(alert("firing", "web-1 restarts once more"), signal());
    assert.equal(mattermost.posts().at(-1)?.root_id, "");
  });

  it("keeps separate alerts in separate threads", async () => {
    await sink.deliver(alert("firing", "a", "aaaa"), signal());
    await sink.deliver(alert("firing", "b", "bbbb"), signal());
    await sink.deliver(alert("firing", "a again", "aaaa"), signal());
    const [a, b, again] = mattermost.posts().slice(-3);
    assert.equal(a!.root_id, "");
    assert.equal(b!.root_id, "");
    assert.equal(again!.root_id, a!.id);
  });

  it("starts the thread again when its root was deleted in Mattermost", async () => {
    await sink.deliver(alert("firing", "first", "cccc"), signal());
    const root = mattermost.posts().at(-1)!;
    mattermost.deletePost(root.id);
    assert.deepEqual(await sink.deliver(alert("firing", "second", "cccc"), signal()), { kind: "delivered" });
    const second = mattermost.posts().at(-1)!;
    assert.equal(
      second.root_id,
      "",
      "a reply to a deleted root is refused (400); the event starts a new thread",
    );
    await sink.deliver(alert("firing", "third", "cccc"), signal());
    assert.equal(mattermost.posts().at(-1)!.root_id, second.id);
  });

  it("offers a Describe button whose signed context names the object and the thread", async () => {
    await sink.deliver(alert("firing", "with a button", "dddd"), signal());
    await sink.deliver(alert("firing", "a reply with a button", "dddd"), signal());
    const [root, reply] = mattermost.posts().slice(-2);
    const key = actionKeyFromToken(TOKEN);
    for (const [post, rootId] of [
      [root!, ""],
      [reply!, root!.id],
    ] as const) {
      const [action] = (post.props.attachments as { actions: Record<string, unknown>[] }[])[0]!.actions;
      const integration = action!.integration as { url: string; context: unknown };
      assert.equal(action!.name, "Describe");
      assert.equal(integration.url, "https://patchbay.example.com/chat/mattermost/ops-mm/actions");
      const check = verifyActionContext(key, "ops-mm", integration.context);
      assert.ok(check.ok);
      assert.equal(check.context.command, "kubectl describe pod web-1 -n shop");
      assert.equal(check.context.channel_id, CHANNEL);
      assert.equal(check.context.root_id, rootId);
      // The same context is worthless to another notifier, or with its command changed.
      assert.equal(verifyActionContext(key, "other", integration.context).ok, false);
      const altered = { ...(integration.context as object), command: "kubectl get secrets -A" };
      assert.equal(verifyActionContext(key, "ops-mm", altered).ok, false);
    }
  });

  it("offers an Action's commands as buttons of their own, each context signed for its command", async () => {
    const offered = withOffers(alert("firing", "with offers", "oooo"), [
      { label: "pod-logs", command: "'kubectl' 'logs' 'web-1' '-n' 'shop'" },
    ]);
    await sink.deliver(offered, signal());
    const actions = (
      mattermost.posts().at(-1)!.props.attachments as { actions: Record<string, unknown>[] }[]
    )[0]!.actions;
    assert.deepEqual(
      actions.map((action) => [action.id, action.name]),
      [
        ["describe", "Describe"],
        ["offer1", "pod-logs"],
      ],
    );
    const check = verifyActionContext(
      actionKeyFromToken(TOKEN),
      "ops-mm",
      (actions[1]!.integration as { context: unknown }).context,
    );
    assert.ok(check.ok);
    assert.equal(check.context.command, "'kubectl' 'logs' 'web-1' '-n' 'shop'");
  });

  it("offers no button without an actionsUrl, or when the object's names are not Kubernetes names", async () => {
    const noActions = await botSink();
    await noActions.deliver(alert("firing", "no actions url", "eeee"), signal());
    assert.equal(
      Object.hasOwn((mattermost.posts().at(-1)!.props.attachments as object[])[0]!, "actions"),
      false,
    );
    const hostile = alert("firing", "hostile", "ffff");
    (hostile.data as { labels: Record<string, string> }).labels.pod = "web-1 --all-namespaces";
    await sink.deliver(hostile, signal());
    assert.equal(
      Object.hasOwn((mattermost.posts().at(-1)!.props.attachments as object[])[0]!, "actions"),
      false,
    );
  });

  it("names the cluster in the post's fields, title and fallback", async () => {
    const named = namingCluster(await botSink(), "prod-eu-1");
    await named.deliver(alert("firing", "which cluster?", "gggg"), signal());
    const [attachment] = mattermost.posts().at(-1)!.props.attachments as {
      fields: { title: string; value: string }[];
      title: string;
      fallback: string;
    }[];
    assert.deepEqual(attachment!.fields[0], { short: true, title: "Cluster", value: "prod-eu-1" });
    assert.equal(attachment!.title, "🚨 \\[prod-eu-1\\] which cluster?", "markdown-escaped brackets");
    assert.match(attachment!.fallback, /^\[prod-eu-1\] which cluster\?/);
  });

  it("waits as a 429 says: the longer of Retry-After and X-Ratelimit-Reset", async () => {
    mattermost.rateLimitNext(1, 2);
    const outcome = await sink.deliver(alert("firing", "limited", "hhhh"), signal());
    assert.equal(outcome.kind, "retry");
    assert.equal(outcome.kind === "retry" && outcome.retryAfterMs, 2_000);
    assert.match(outcome.kind === "retry" ? outcome.reason : "", /rate limit \(429\)/);
  });

  it("through the router, the retry after a 429 waits at least the time Mattermost stated", async () => {
    const { router } = newRouter();
    try {
      router.setNotifiers([
        {
          name: "ops-mm",
          type: "mattermost",
          sink,
          // Backoffs far shorter than the stated wait: only honouring the 429 explains a 1 s gap.
          delivery: { initialBackoffMs: 5, maxBackoffMs: 20, ratePerSecond: 0, timeoutSeconds: 5 },
        },
      ]);
      mattermost.rateLimitNext(1, 1);
      const from = mattermost.calls.length;
      router.publish(alert("firing", "through the router", "rrrr"));
      await waitFor(() => router.stats().notifiers["ops-mm"]!.delivered === 1 || undefined, {
        what: "delivery after the 429",
      });
      const [limited, retried] = mattermost.calls.slice(from);
      assert.equal(limited!.status, 429);
      assert.equal(retried!.status, 201);
      assert.ok(retried!.at - limited!.at >= 1_000, `retried after ${retried!.at - limited!.at} ms`);
    } finally {
      await router.drain(0);
    }
  });

  it("gives up on a bad token or a channel the bot is not in, saying what to fix and never quoting the token", async () => {
    const wrong = "wrongtokenwrongtokenwrongt";
    const badToken = new MattermostBotSink(new MattermostApi(mattermost.url, wrong), {
      notifier: "ops-mm",
      channelId: CHANNEL,
      actionKey: actionKeyFromToken(wrong),
    });
    const refused = await badToken.deliver(alert("firing", "x", "iiii"), signal());
    assert.equal(refused.kind, "permanent");
    assert.match(
      refused.kind === "permanent" ? refused.reason : "",
      /refused the bot token \(401\).*botToken/,
    );
    assert.doesNotMatch(JSON.stringify(refused), new RegExp(wrong));

    const elsewhere = new MattermostBotSink(new MattermostApi(mattermost.url, TOKEN), {
      notifier: "ops-mm",
      channelId: newId(),
      actionKey: actionKeyFromToken(TOKEN),
    });
    const forbidden = await elsewhere.deliver(alert("firing", "x", "jjjj"), signal());
    assert.equal(forbidden.kind, "permanent");
    assert.match(
      forbidden.kind === "permanent" ? forbidden.reason : "",
      /\(403\).*add the bot account to the channel/,
    );
  });

  it("retries when Mattermost cannot be reached or answers 5xx", async () => {
    const closed = await startMattermostApi({ botToken: TOKEN, channelIds: [CHANNEL] });
    const url = closed.url;
    await closed.close();
    const unreachable = new MattermostBotSink(new MattermostApi(url, TOKEN), {
      notifier: "ops-mm",
      channelId: CHANNEL,
      actionKey: actionKeyFromToken(TOKEN),
    });
    const outcome = await unreachable.deliver(alert("firing", "x", "kkkk"), signal());
    assert.equal(outcome.kind, "retry");
    assert.match(outcome.kind === "retry" ? outcome.reason : "", /ECONNREFUSED/);

    const failing = await startReceiver(
      answer(503, { "content-type": "application/json" }, '{"message":"db down"}'),
    );
    try {
      const result = await new MattermostApi(failing.url, TOKEN).createPost(
        { channel_id: CHANNEL, message: "x" },
        signal(),
      );
      assert.deepEqual(result, {
        ok: false,
        status: 503,
        outcome: { kind: "retry", reason: "Mattermost answered 503 to POST /api/v4/posts: db down" },
      });
    } finally {
      await failing.close();
    }
  });

  it("remembers a bounded number of threads, forgetting the oldest", async () => {
    const threads = new ThreadRoots<string>(2);
    const bounded = new MattermostBotSink(new MattermostApi(mattermost.url, TOKEN), {
      notifier: "ops-mm",
      channelId: CHANNEL,
      actionKey: actionKeyFromToken(TOKEN),
      threads,
    });
    for (const fingerprint of ["l1", "l2", "l3"])
      await bounded.deliver(alert("firing", fingerprint, fingerprint), signal());
    assert.equal(threads.size, 2);
    await bounded.deliver(alert("firing", "l1 again", "l1"), signal());
    assert.equal(mattermost.posts().at(-1)!.root_id, "", "the oldest thread was forgotten");
    await bounded.deliver(alert("firing", "l3 again", "l3"), signal());
    assert.notEqual(mattermost.posts().at(-1)!.root_id, "");
  });
});
