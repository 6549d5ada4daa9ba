/**
 * Buttons and mentions over Socket Mode in the real `patchbay local` process: the prometheus source
 * takes an alert, the Slack app notifier posts it with its Describe button to the Slack stand-in, and
 * Patchbay, connected to the stand-in's Socket Mode with the app-level token, runs a click on that button
 * with the real kubectl executor against the Kubernetes API double, answering in the alert's thread.
 * Mentions are answered in their thread too; a click on an executor the notifier may not use gets the
 * reason in the thread; a connection dropped mid-stream loses no envelope and runs none twice; Slack's
 * disconnect refresh is followed; HTTP requests with a forged signature run nothing.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { kubectlExecutorManifest, prometheusSourceManifest } from "../support/local-manifests.ts";
import { startKubeApiDouble, type KubeApiDouble } from "../support/kube-api/index.ts";
import { startPatchbayLocal, type PatchbayLocal } from "../support/patchbay-local.ts";
import {
  DEFAULT_APP_TOKEN,
  DEFAULT_BOT_TOKEN,
  startSlackApiStandIn,
  type SlackApiStandIn,
  type StoredMessage,
} from "../support/slack-api/index.ts";
import {
  appMentionCallback,
  blockActionsPayload,
  interactivityForm,
  postSignedBySlack,
} from "../support/slack-api/requests.ts";
import { attachSocketMode, type SocketModeStandIn } from "../support/slack-api/socket-mode.ts";
import { waitFor } from "../support/wait.ts";

const CHANNEL = "C0INCIDENT1";
const POD = "api-7c9d8f6b5-x2k4q";
const SIGNING_SECRET = "e3b0c44298fc1c149afbf4c8996fb924";

let kube: KubeApiDouble;
let slack: SlackApiStandIn;
let socketMode: SocketModeStandIn;
let local: PatchbayLocal;
let dir: string;
/** The alert's root message, which carries the Describe button. */
let root: StoredMessage;

function alert(startsAt: string) {
  return {
    version: "4",
    status: "firing",
    receiver: "patchbay",
    groupKey: '{}:{alertname="KubePodCrashLooping"}',
    groupLabels: { alertname: "KubePodCrashLooping" },
    commonLabels: {},
    commonAnnotations: {},
    externalURL: "http://alertmanager:9093",
    truncatedAlerts: 0,
    alerts: [
      {
        status: "firing",
        labels: { alertname: "KubePodCrashLooping", namespace: "shop", pod: POD, severity: "critical" },
        annotations: { summary: "Pod shop/api is crash looping" },
        startsAt,
        endsAt: "0001-01-01T00:00:00Z",
        generatorURL: "http://prometheus:9090/graph",
        fingerprint: "5c1e8d0b9a3f7e21",
      },
    ],
  };
}

/** The value of the message's "patchbay.run" button, wherever Block Kit holds it. */
function buttonValue(message: StoredMessage): string | undefined {
  const found = JSON.stringify(message.attachments ?? message.blocks ?? []).match(
    /"action_id":"patchbay\.run","value":"([^"]*)"/,
  );
  return found?.[1];
}

const replies = () => slack.thread(CHANNEL, root.ts)?.replies ?? [];
const replyTexts = () => replies().map((reply) => reply.text ?? "");

before(async () => {
  kube = await startKubeApiDouble({ namespaces: ["default", "shop"] });
  kube.create({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: POD, namespace: "shop", labels: { app: "api" } },
    spec: { containers: [{ name: "api", image: "shop/api:1.4" }] },
  });
  const kubeconfig = await kube.writeKubeconfig();
  slack = await startSlackApiStandIn({ channels: [{ id: CHANNEL, name: "incidents" }] });
  socketMode = attachSocketMode(slack);
  dir = await mkdtemp(path.join(tmpdir(), "patchbay-socket-mode-"));
  const botTokenFile = path.join(dir, "slack-bot-token");
  const appTokenFile = path.join(dir, "slack-app-token");
  await writeFile(botTokenFile, `${DEFAULT_BOT_TOKEN}\n`, { mode: 0o600 });
  await writeFile(appTokenFile, `${DEFAULT_APP_TOKEN}\n`, { mode: 0o600 });
  const node = JSON.stringify(process.execPath);
  const script = (file: string) => JSON.stringify(path.resolve(file));
  await writeFile(
    path.join(dir, "plane.yaml"),
    `${prometheusSourceManifest()}---
${kubectlExecutorManifest(kubeconfig)}---
apiVersion: patchbay.dev/v1alpha1
kind: ExecutorPlugin
metadata: {name: whoami}
spec:
  prefixes: [whoami]
  runtime: {process: {command: [${node}, ${script("test/slack/whoami-executor.ts")}]}}
---
apiVersion: patchbay.dev/v1alpha1
kind: ExecutorPlugin
metadata: {name: echo}
spec:
  prefixes: [echo]
  runtime: {process: {command: [${node}, ${script("plugins/echo/main.ts")}]}}
---
apiVersion: patchbay.dev/v1alpha1
kind: Action
metadata: {name: pod-status}
spec:
  sources: {names: [alertmanager]}
  command: "kubectl get pod {{data.labels.pod}} -n {{data.labels.namespace}}"
  executors: [kubectl]
  result: {mode: button}
---
apiVersion: patchbay.dev/v1alpha1
kind: Notifier
metadata: {name: incidents}
spec:
  type: slack
  slack:
    botToken: {file: ${JSON.stringify(botTokenFile)}}
    channel: incidents
    apiUrl: ${JSON.stringify(slack.apiUrl)}
  commands:
    executors: [kubectl, whoami]
    groups: {oncall: [U0CAROL]}
    access:
      - users: [U0ALICE]
        executors: [kubectl, whoami]
        kubernetes: {user: alice@example.com, groups: [sre]}
      - users: [U0BOB]
        groups: [oncall]
        executors: [whoami]
    slack:
      appToken: {file: ${JSON.stringify(appTokenFile)}}
      signingSecret: {value: ${SIGNING_SECRET}}
`,
  );
  local = await startPatchbayLocal(dir);
  await waitFor(async () => (await local.command("kubectl version --client")).body.status === "ok", {
    what: "the kubectl executor",
    timeoutMs: 20_000,
  });
  await waitFor(async () => (await local.command("whoami")).body.status === "ok", {
    what: "the whoami executor",
    timeoutMs: 20_000,
  });
  await waitFor(() => socketMode.connections().some((connection) => connection.open), {
    what: `patchbay local's Socket Mode connection: ${local.stderr()}`,
    timeoutMs: 20_000,
  });
  await waitFor(
    async () => {
      const response = await fetch(`${local.url}/sources/alertmanager/`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(alert("2026-12-01T04:00:00Z")),
      });
      await response.text();
      return response.status === 202;
    },
    { what: "the prometheus source to take the alert", timeoutMs: 20_000 },
  );
  root = await waitFor(() => slack.messages(CHANNEL)[0], { what: "the alert in Slack", timeoutMs: 20_000 });
});

after(async () => {
  await local?.stop();
  await socketMode?.close();
  await slack?.close();
  await kube?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("Socket Mode in patchbay local", () => {
  it("opened its connection with the app-level token, not the bot token", () => {
    const opens = slack.calls.filter((call) => call.method === "apps.connections.open");
    assert.ok(opens.length >= 1);
    assert.ok(opens.every((call) => call.headers.authorization === `Bearer ${DEFAULT_APP_TOKEN}`));
    assert.ok(!local.stderr().includes(DEFAULT_APP_TOKEN), "the app-level token is never logged");
  });

  it("a click on the alert's Describe button runs kubectl and answers in the alert's thread", async () => {
    const command = buttonValue(root);
    assert.equal(command, `kubectl describe pod ${POD} -n shop`);
    const id = socketMode.send(
      "interactive",
      blockActionsPayload({ value: command!, user: "U0ALICE", channel: CHANNEL, messageTs: root.ts }),
    );
    const answer = await waitFor(() => replies().find((reply) => reply.text?.includes("kubectl describe")), {
      what: `the answer in the alert's thread: ${local.stderr().slice(-2000)}`,
      timeoutMs: 20_000,
    });
    assert.ok(socketMode.acked(id));
    assert.equal(answer.thread_ts, root.ts);
    assert.match(answer.text!, new RegExp(`^\`kubectl describe pod ${POD} -n shop\` \\(kubectl\\)\\n\`\`\``));
    assert.match(answer.text!, new RegExp(`Name:\\s+${POD}`));
    const post = slack.calls.findLast(
      (call) =>
        call.method === "chat.postMessage" && (call.body as { thread_ts?: string }).thread_ts === root.ts,
    )!;
    assert.equal(post.headers.authorization, `Bearer ${DEFAULT_BOT_TOKEN}`);
    // kubectl really asked the API (double) for that Pod.
    assert.ok(
      kube.requests.some((r) => r.method === "GET" && r.path === `/api/v1/namespaces/shop/pods/${POD}`),
    );
  });

  it("an Action in button mode: the alert offers its command, and a click runs it in the thread", async () => {
    const offer = /"action_id":"patchbay\.run\.1","value":"([^"]*)"/.exec(
      JSON.stringify(root.attachments),
    )?.[1];
    assert.equal(offer, `'kubectl' 'get' 'pod' '${POD}' '-n' 'shop'`);
    assert.match(JSON.stringify(root.attachments), /"text":"pod-status"/);
    socketMode.send(
      "interactive",
      blockActionsPayload({
        value: offer!,
        user: "U0ALICE",
        channel: CHANNEL,
        messageTs: root.ts,
        actionId: "patchbay.run.1",
      }),
    );
    const answer = await waitFor(() => replies().find((reply) => reply.text?.includes("'get' 'pod'")), {
      what: "the offered command's answer in the thread",
      timeoutMs: 20_000,
    });
    assert.match(answer.text!, new RegExp(`^${POD}\\s`, "m"));
  });

  it("a mention is run as the mentioning user and answered in its thread", async () => {
    socketMode.send(
      "events_api",
      appMentionCallback({
        text: "<@U0PATCHBOT> whoami from the thread",
        user: "U0BOB",
        channel: CHANNEL,
        ts: "1700000500.000100",
        threadTs: root.ts,
      }),
    );
    await waitFor(
      () => replyTexts().some((text) => text.includes(`U0BOB|incidents|${CHANNEL}|from the thread`)),
      {
        what: "the mention's answer in the thread",
      },
    );
  });

  it("a click on an executor the notifier may not use is refused, with the reason in the thread", async () => {
    socketMode.send(
      "interactive",
      blockActionsPayload({ value: "echo hello", user: "U0ALICE", channel: CHANNEL, messageTs: root.ts }),
    );
    const refusal = await waitFor(() => replies().find((reply) => reply.text?.includes("`echo hello`")), {
      what: "the refusal in the thread",
    });
    assert.match(refusal.text!, /not allowed: this channel may not use the executor "echo"/);
  });

  it("per person: the click runs as the Kubernetes identity the access rules map the clicker to; someone unnamed is refused", async () => {
    const before = kube.requests.length;
    socketMode.send(
      "interactive",
      blockActionsPayload({
        value: `kubectl get pod ${POD} -n shop`,
        user: "U0ALICE",
        channel: CHANNEL,
        messageTs: root.ts,
      }),
    );
    await waitFor(
      () => replies().some((reply) => reply.text?.startsWith(`\`kubectl get pod ${POD} -n shop\``)),
      {
        what: "alice's answer in the thread",
        timeoutMs: 20_000,
      },
    );
    const read = kube.requests
      .slice(before)
      .find((r) => r.method === "GET" && r.path === `/api/v1/namespaces/shop/pods/${POD}`);
    assert.ok(read, "kubectl asked the API for the pod");
    assert.deepEqual(read.headers["impersonate-user"], ["alice@example.com"]);
    assert.deepEqual(read.headers["impersonate-group"], ["sre"]);

    socketMode.send(
      "interactive",
      blockActionsPayload({
        value: "kubectl get pods -n shop",
        user: "U0MALLORY",
        channel: CHANNEL,
        messageTs: root.ts,
      }),
    );
    const refusal = await waitFor(() => replies().find((reply) => reply.text?.includes("U0MALLORY")), {
      what: "the refusal for someone no rule names",
    });
    assert.match(
      refusal.text!,
      /you \(U0MALLORY\) are not allowed to use the executor "kubectl" here: no access rule of this channel names you/,
    );
    // Bob may use whoami only.
    socketMode.send(
      "interactive",
      blockActionsPayload({
        value: "kubectl get pods -n shop",
        user: "U0BOB",
        channel: CHANNEL,
        messageTs: root.ts,
      }),
    );
    const narrowed = await waitFor(() => replies().find((reply) => reply.text?.includes("you (U0BOB)")), {
      what: "bob's refusal",
    });
    assert.match(narrowed.text!, /your access covers only "whoami"/);
  });

  it("a connection dropped mid-stream is reopened: every envelope acknowledged and answered exactly once", async () => {
    const before = socketMode.connections().length;
    const ids: string[] = [];
    const mention = (n: number) =>
      appMentionCallback({
        text: `<@U0PATCHBOT> whoami drop-${n}`,
        user: "U0CAROL",
        channel: CHANNEL,
        ts: `1700000600.00010${n}`,
        threadTs: root.ts,
      });
    for (let n = 0; n < 6; n++) {
      ids.push(socketMode.send("events_api", mention(n)));
      if (n === 2) socketMode.drop();
    }
    await waitFor(() => ids.every((id) => socketMode.acked(id)), {
      what: "every envelope acknowledged",
      timeoutMs: 20_000,
    });
    assert.ok(socketMode.connections().length > before, "a new connection was opened");
    assert.ok(
      socketMode.sent.some((envelope) => ids.includes(envelope.envelope_id) && envelope.retry_attempt > 0),
      "envelopes unacknowledged at the drop were sent again",
    );
    const answered = (n: number) => replyTexts().filter((text) => text.includes(`|drop-${n}\n`));
    await waitFor(() => [0, 1, 2, 3, 4, 5].every((n) => answered(n).length >= 1), {
      what: "every mention answered",
      timeoutMs: 20_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    for (let n = 0; n < 6; n++) assert.equal(answered(n).length, 1, `drop-${n} answered once`);
    assert.deepEqual(socketMode.problems, []);
  });

  it("a disconnect (refresh_requested) is followed by a new connection, which then carries the clicks", async () => {
    const before = socketMode.connections().length;
    socketMode.disconnect("refresh_requested", 10_000);
    await waitFor(() => socketMode.connections().length === before + 1, { what: "the new connection" });
    await waitFor(() => socketMode.connections().filter((connection) => connection.open).length === 1, {
      what: "the old connection closed by Patchbay",
    });
    socketMode.send(
      "interactive",
      blockActionsPayload({
        value: "whoami after refresh",
        user: "U0ALICE",
        channel: CHANNEL,
        messageTs: root.ts,
      }),
    );
    await waitFor(
      () => replyTexts().some((text) => text.includes(`U0ALICE|incidents|${CHANNEL}|after refresh`)),
      {
        what: "the click answered after the refresh",
      },
    );
    assert.equal(socketMode.sent.at(-1)!.connection, before + 1);
  });

  it("over HTTP, a forged or stale interactivity request is refused with 401 and runs nothing", async () => {
    const before = replies().length;
    const body = interactivityForm(
      blockActionsPayload({
        value: "whoami forged",
        user: "U0MALLORY",
        channel: CHANNEL,
        messageTs: root.ts,
      }),
    );
    const url = `${local.url}/chat/slack/incidents/interactivity`;
    const contentType = "application/x-www-form-urlencoded";
    const forged = await postSignedBySlack(url, body, { secret: "guessed-secret", contentType });
    assert.equal(forged.status, 401);
    assert.match(await forged.text(), /"code":"unauthenticated".*X-Slack-Signature does not match/);
    const stale = await postSignedBySlack(url, body, {
      secret: SIGNING_SECRET,
      contentType,
      timestamp: Math.floor(Date.now() / 1000) - 3_600,
    });
    assert.equal(stale.status, 401);
    assert.match(await stale.text(), /replay protection/);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(replies().length, before);
    assert.ok(!replyTexts().some((text) => text.includes("forged")));
  });

  it("over HTTP, the Events API's url_verification is answered with the challenge", async () => {
    const response = await postSignedBySlack(
      `${local.url}/chat/slack/incidents/events`,
      JSON.stringify({ token: "x", challenge: "challenge-from-slack", type: "url_verification" }),
      { secret: SIGNING_SECRET },
    );
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { challenge: "challenge-from-slack" });
  });

  it("closes its Socket Mode connection when it stops", async () => {
    assert.equal(await local.stop(), 0);
    await waitFor(() => socketMode.connections().every((connection) => !connection.open), {
      what: "every connection closed",
    });
  });
});
