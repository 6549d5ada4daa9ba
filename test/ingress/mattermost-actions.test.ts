/**
 * POST /chat/mattermost/<notifier>/actions: the Mattermost stand-in clicks the Describe button a bot
 * notifier posted; the ingress checks the signed context, runs the command on a real executor over
 * gRPC as the clicking user, answers "Running …" at once and posts the answer in the thread.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { RunningPlugin } from "@patchbay/sdk";
import { CommandDispatcher, type CommandRequest } from "../../src/commands/index.ts";
import type { CloudEvent } from "../../src/events/cloudevent.ts";
import type { ChatChannel, RunningIngress } from "../../src/ingress/index.ts";
import { actionKeyFromToken } from "../../src/mattermost/action-context.ts";
import { MattermostApi } from "../../src/mattermost/api.ts";
import { MattermostBotSink } from "../../src/notifiers/mattermost-bot.ts";
import {
  newId,
  startMattermostApi,
  type MattermostStandIn,
  type Post,
} from "../support/mattermost-api/index.ts";
import { waitFor } from "../support/wait.ts";
import { serveEcho } from "../commands/echo-plugin.ts";
import { GrpcExecutorDirectory } from "../commands/grpc-executors.ts";
import { FakeSources, RecordingSink, startTestIngress } from "./fakes.ts";

const TOKEN = "q1w2e3r4t5y6u7i8o9p0a1s2d3";
const CHANNEL = newId();
const ALICE = { id: newId(), name: "alice" };
const BOB = { id: newId(), name: "bob" };
const COMMAND = "kubectl describe pod web-1 -n shop";

function podEvent(uid: string): CloudEvent {
  return {
    specversion: "1.0",
    id: newId(),
    source: "kubernetes",
    type: "dev.patchbay.kubernetes.event",
    time: "2026-12-01T04:00:00Z",
    severity: "warning",
    subject: "shop/Pod/web-1",
    data: {
      reason: "BackOff",
      message: "Back-off restarting failed container",
      involvedObject: { kind: "Pod", namespace: "shop", name: "web-1", uid },
    },
  };
}

describe("Mattermost buttons", () => {
  let mattermost: MattermostStandIn;
  let executor: RunningPlugin;
  let directory: GrpcExecutorDirectory;
  let ingress: RunningIngress;
  const dispatched: CommandRequest[] = [];
  const bot = () => ({ api: new MattermostApi(mattermost.url, TOKEN), actionKey: actionKeyFromToken(TOKEN) });
  let channels: Record<string, ChatChannel> = {};

  before(async () => {
    [mattermost, executor] = await Promise.all([
      startMattermostApi({ botToken: TOKEN, channelIds: [CHANNEL] }),
      // The echo executor, registered for the kubectl prefix: it answers with the command's arguments.
      serveEcho("kubectl"),
    ]);
    directory = new GrpcExecutorDirectory([
      {
        name: "kubectl",
        address: executor.address,
        prefixes: ["kubectl"],
        aliases: {},
        ready: true,
        reason: "",
        timeoutMs: 2_000,
      },
    ]);
    const dispatcher = new CommandDispatcher({ executors: directory });
    channels = {
      "ops-mm": { type: "mattermost", allowedExecutors: ["kubectl"], mattermostBot: bot() },
      "ops-echo-only": { type: "mattermost", allowedExecutors: ["echo"], mattermostBot: bot() },
      "ops-webhook": { type: "mattermost" },
      // Alice by her user name, as a rule may name her; Bob is in no rule.
      "ops-access": {
        type: "mattermost",
        allowedExecutors: ["kubectl"],
        mattermostBot: bot(),
        access: {
          access: [{ users: ["alice"], executors: ["kubectl"], kubernetes: { user: "alice@example.com" } }],
        },
      },
    };
    ingress = await startTestIngress(undefined, {
      sources: new FakeSources([]),
      sink: new RecordingSink(),
      commands: {
        dispatch: (request) => {
          dispatched.push(request);
          return dispatcher.dispatch(request);
        },
      },
      chat: { lookup: (name) => channels[name] },
      auth: { tokens: ["chat-endpoints-do-not-use-bearer-tokens"] },
    });
  });
  after(async () => {
    await ingress.close(100);
    directory.close();
    await Promise.all([executor.close(), mattermost.close()]);
  });

  /** Posts a notification through the bot sink as notifier `name`; returns its post. */
  async function notify(name: string, event: CloudEvent): Promise<Post> {
    const sink = new MattermostBotSink(new MattermostApi(mattermost.url, TOKEN), {
      notifier: name,
      channelId: CHANNEL,
      actionsUrl: ingress.url,
      actionKey: actionKeyFromToken(TOKEN),
    });
    assert.deepEqual(await sink.deliver(event, AbortSignal.timeout(5_000)), { kind: "delivered" });
    return mattermost.posts().at(-1)!;
  }

  const repliesTo = (rootId: string) => mattermost.posts().filter((post) => post.root_id === rootId);

  it("runs the button's command as the clicking user and answers in the thread", async () => {
    const root = await notify("ops-mm", podEvent("uid-1"));
    const click = await mattermost.click(root.id, ALICE);
    assert.equal(click.status, 200);
    assert.deepEqual(click.body, { ephemeral_text: `Running \`${COMMAND}\` …` });
    const [answer] = await waitFor(() => (repliesTo(root.id).length > 0 ? repliesTo(root.id) : undefined), {
      what: "the answer in the thread",
    });
    assert.match(answer!.message, /`kubectl describe pod web-1 -n shop` \(kubectl\)/);
    assert.match(answer!.message, /```\ndescribe pod web-1 -n shop\n```/, "the executor's output");
    assert.equal(answer!.channel_id, CHANNEL);
    assert.deepEqual(dispatched.at(-1), {
      command: COMMAND,
      user: ALICE.id,
      notifier: "ops-mm",
      channel: CHANNEL,
      allowedExecutors: ["kubectl"],
      // The notifier has no access rules: nothing narrows it further.
      access: undefined,
    });
  });

  it("answers a button on a reply in the thread's root, which Mattermost requires", async () => {
    const root = await notify("ops-mm", podEvent("uid-2"));
    const sink = new MattermostBotSink(new MattermostApi(mattermost.url, TOKEN), {
      notifier: "ops-mm",
      channelId: CHANNEL,
      actionsUrl: ingress.url,
      actionKey: actionKeyFromToken(TOKEN),
    });
    await sink.deliver(podEvent("uid-3"), AbortSignal.timeout(5_000));
    await sink.deliver(podEvent("uid-3"), AbortSignal.timeout(5_000));
    const reply = mattermost.posts().at(-1)!;
    assert.notEqual(reply.root_id, "");
    assert.equal((await mattermost.click(reply.id, ALICE)).status, 200);
    await waitFor(() => repliesTo(reply.root_id).length === 2 || undefined, {
      what: "the answer under the root",
    });
    assert.equal(repliesTo(reply.id).length, 0, "nothing replies to the reply itself");
    assert.equal(repliesTo(root.id).length, 0, "another thread is untouched");
  });

  it("per person: the access rules decide, by user name or id; someone no rule names is refused in the thread", async () => {
    const root = await notify("ops-access", podEvent("uid-7"));
    assert.equal((await mattermost.click(root.id, ALICE)).status, 200);
    await waitFor(() => repliesTo(root.id).length === 1 || undefined, { what: "alice's answer" });
    assert.match(repliesTo(root.id)[0]!.message, /```\ndescribe pod web-1 -n shop\n```/);
    assert.deepEqual(dispatched.at(-1)!.access, {
      user: "alice",
      executors: ["kubectl"],
      named: true,
      impersonation: { user: "alice@example.com", groups: [] },
    });
    assert.equal((await mattermost.click(root.id, BOB)).status, 200);
    await waitFor(() => repliesTo(root.id).length === 2 || undefined, { what: "bob's refusal" });
    // Markdown escapes the parentheses.
    assert.match(
      repliesTo(root.id)[1]!.message,
      /you \\\(bob\\\) are not allowed to use the executor "kubectl" here: no access rule of this channel names you/,
    );
  });

  it("keeps to the notifier's executors: a command outside them is refused, in the thread", async () => {
    const root = await notify("ops-echo-only", podEvent("uid-4"));
    assert.equal((await mattermost.click(root.id, ALICE)).status, 200);
    const [answer] = await waitFor(() => (repliesTo(root.id).length > 0 ? repliesTo(root.id) : undefined), {
      what: "the refusal in the thread",
    });
    assert.match(answer!.message, /not allowed/);
  });

  it("refuses a forged or altered context with 401 naming the problem, and runs nothing", async () => {
    const root = await notify("ops-mm", podEvent("uid-5"));
    const context = (
      root.props.attachments as { actions: { integration: { context: Record<string, string> } }[] }[]
    )[0]!.actions[0]!.integration.context;
    const runsBefore = dispatched.length;
    const postsBefore = mattermost.posts().length;
    const cases: [unknown, RegExp][] = [
      [{ ...context, command: "kubectl get secrets -A" }, /signature does not match notifier "ops-mm"/],
      [{ ...context, signature: "0".repeat(64) }, /signature does not match/],
      [{ command: COMMAND, channel_id: CHANNEL, root_id: "" }, /carries no signature/],
      [undefined, /no context object/],
    ];
    for (const [forged, message] of cases) {
      const click = await mattermost.click(root.id, ALICE, { context: forged });
      assert.equal(click.status, 401);
      const { error } = click.body as { error: { code: string; message: string } };
      assert.equal(error.code, "unauthenticated");
      assert.match(error.message, message);
    }
    const otherChannel = await mattermost.click(root.id, ALICE, { channelId: newId() });
    assert.equal(otherChannel.status, 401);
    assert.match((otherChannel.body as { error: { message: string } }).error.message, /another channel/);
    assert.equal(dispatched.length, runsBefore, "no command ran");
    assert.equal(mattermost.posts().length, postsBefore, "nothing was posted");
  });

  it("answers malformed, misaddressed and unconfigured requests with a JSON error", async () => {
    const post = (path: string, body: string, method = "POST") =>
      fetch(`${ingress.url}${path}`, {
        method,
        headers: { "content-type": "application/json" },
        body: method === "GET" ? undefined : body,
      });
    const valid = JSON.stringify({ user_id: ALICE.id, channel_id: CHANNEL, post_id: newId(), context: {} });
    const cases: [Promise<Response>, number, RegExp][] = [
      [post("/chat/mattermost/ops-mm/actions", "{not json"), 400, /not JSON/],
      [
        post("/chat/mattermost/ops-mm/actions", JSON.stringify({ user_id: "alice" })),
        400,
        /user_id must be a Mattermost id/,
      ],
      [post("/chat/mattermost/nobody/actions", valid), 404, /no Notifier is named "nobody"/],
      [post("/chat/mattermost/ops-webhook/actions", valid), 404, /not a Mattermost bot/],
      [post("/chat/mattermost/ops-mm/actions", "", "GET"), 405, /use POST/],
      [post("/chat/mattermost/ops-mm/actions", JSON.stringify({ pad: "x".repeat(70_000) })), 413, /./],
    ];
    for (const [response, status, message] of cases) {
      const answer = await response;
      const body = (await answer.json()) as { error: { message: string } };
      assert.equal(answer.status, status, JSON.stringify(body));
      assert.match(body.error.message, message);
    }
    // Still serving.
    const root = await notify("ops-mm", podEvent("uid-6"));
    assert.equal((await mattermost.click(root.id, ALICE)).status, 200);
    await waitFor(() => repliesTo(root.id).length === 1 || undefined, { what: "the answer in the thread" });
  });
});
