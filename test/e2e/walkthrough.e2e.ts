/**
 * End to end against a real cluster (`KUBECONFIG`), kubebuilder's test/e2e convention: the README's cluster
 * walkthrough by script. `npm run e2e`; not part of `npm test` (CI has no cluster).
 *
 * The operator runs as a real `patchbay operator` process outside the cluster, and the plugins as
 * processes started here and declared in `external` mode: so the suite needs no image, no registry and no
 * kubelet (the pod-mode samples are applied too, and reconciled into their workloads, but their Pods need
 * not start). Everything it creates is deleted afterwards; `kubectl apply -k .` is undone only when the
 * install was not there before the suite.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { kubectl as runKubectl } from "../manifests/kubectl.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../operator/harness.ts";
import { startOperatorProcess, type OperatorProcess } from "../support/operator-process.ts";
import { startPluginProcess, type StartedPlugin } from "../support/plugin-process.ts";
import {
  DEFAULT_APP_TOKEN,
  DEFAULT_BOT_TOKEN,
  startSlackApiStandIn,
  type SlackApiStandIn,
} from "../support/slack-api/index.ts";
import { blockActionsPayload } from "../support/slack-api/requests.ts";
import { attachSocketMode, type SocketModeStandIn } from "../support/slack-api/socket-mode.ts";
import { waitFor } from "../support/wait.ts";

const KUBECONFIG = process.env.KUBECONFIG;
const NAMESPACE = `patchbay-e2e-${randomBytes(3).toString("hex")}`;
const TOKEN = `e2e-${randomBytes(12).toString("hex")}`;
// Short lease timings, so that the takeover after a SIGKILL is seen within seconds.
const SLACK_CHANNEL = "C0E2EOPS01";

const LEASE = {
  PATCHBAY_LEASE_DURATION_SECONDS: "4",
  PATCHBAY_RENEW_DEADLINE_SECONDS: "3",
  PATCHBAY_RETRY_PERIOD_SECONDS: "0.5",
};
const SAMPLE_CLUSTER_OBJECTS = [
  "clusterrolebinding/patchbay-sample-kubectl-view",
  "clusterrolebinding/patchbay-sample-kubernetes-source-view",
  "clusterrolebinding/patchbay-sample-kubectl-impersonate",
  "clusterrole/patchbay-sample-kubectl-impersonate",
];

async function kubectl(...args: string[]): Promise<string> {
  try {
    return (await runKubectl(args, { KUBECONFIG: KUBECONFIG! })).stdout;
  } catch (error) {
    const failed = error as Error & { stderr?: string };
    throw new Error(`kubectl ${args.join(" ")}: ${failed.stderr || failed.message}`);
  }
}

const exists = async (...args: string[]) =>
  (await kubectl("get", ...args, "--ignore-not-found", "-o", "name")).trim() !== "";

async function leaseHolder(): Promise<string> {
  return kubectl(
    "get",
    "lease",
    "patchbay-leader",
    "-n",
    "patchbay-system",
    "--ignore-not-found",
    "-o",
    "jsonpath={.spec.holderIdentity}",
  );
}

function yamlOf(objects: object[]): string {
  // JSON is YAML; kubectl apply -f - reads a List.
  return JSON.stringify({ apiVersion: "v1", kind: "List", items: objects });
}

async function applyObjects(...objects: object[]): Promise<string> {
  const child = spawn("kubectl", ["apply", "-n", NAMESPACE, "-f", "-"], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", KUBECONFIG: KUBECONFIG! },
  });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stdin.end(yamlOf(objects));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  if (code !== 0) throw new Error(`kubectl apply failed (${code}): ${out}`);
  return out;
}

const external = (kind: string, name: string, address: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: "patchbay.dev/v1alpha1",
  kind,
  metadata: { name },
  spec: { runtime: { external: { address } }, ...spec },
});

describe(`Patchbay on the cluster in KUBECONFIG (namespace ${NAMESPACE})`, () => {
  const children: ChildProcess[] = [];
  const plugins: StartedPlugin[] = [];
  let echo: StartedPlugin;
  let heartbeat: StartedPlugin;
  let inbox: StartedPlugin;
  let receiver: WebhookReceiver;
  let slack: SlackApiStandIn;
  let socketMode: SocketModeStandIn;
  let first: OperatorProcess;
  let second: OperatorProcess | undefined;
  let installedBefore = false;
  const sampleObjectsBefore = new Set<string>();

  before(async () => {
    if (!KUBECONFIG) {
      throw new Error(
        "npm run e2e needs a cluster: set KUBECONFIG to its kubeconfig (see the README, 'End-to-end tests')",
      );
    }
    const ready = await kubectl("get", "--raw", "/readyz").catch((error: Error) => {
      throw new Error(`the cluster in KUBECONFIG=${KUBECONFIG} does not answer: ${error.message}`);
    });
    assert.equal(ready.trim(), "ok");
    installedBefore = await exists("crd/sourceplugins.patchbay.dev");
    for (const object of SAMPLE_CLUSTER_OBJECTS) if (await exists(object)) sampleObjectsBefore.add(object);
    [echo, heartbeat, inbox, receiver, slack] = await Promise.all([
      startPluginProcess("plugins/echo/main.ts"),
      startPluginProcess("plugins/heartbeat/main.ts"),
      startPluginProcess("plugins/cloudevents/main.ts"),
      startWebhookReceiver(),
      startSlackApiStandIn({ channels: [{ id: SLACK_CHANNEL, name: "ops" }] }),
    ]);
    socketMode = attachSocketMode(slack);
    plugins.push(echo, heartbeat, inbox);
  });

  after(async () => {
    await Promise.all([first?.stop(), second?.stop()].filter(Boolean));
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
    await kubectl(
      "delete",
      "namespace",
      NAMESPACE,
      "--ignore-not-found",
      "--wait=true",
      "--timeout=120s",
    ).catch((error: Error) => console.error(`cleanup: ${error.message}`));
    for (const object of SAMPLE_CLUSTER_OBJECTS) {
      if (!sampleObjectsBefore.has(object))
        await kubectl("delete", object, "--ignore-not-found").catch(() => {});
    }
    if (!installedBefore) {
      await kubectl("delete", "-k", ".", "--ignore-not-found", "--wait=true", "--timeout=120s").catch(
        (error: Error) => console.error(`cleanup: ${error.message}`),
      );
    }
    await Promise.all(plugins.map((plugin) => plugin.stop()));
    await receiver?.close();
    await socketMode?.close();
    await slack?.close();
  });

  it("kubectl apply -k . installs the CRDs (established), RBAC, the manager Deployment and its Services", async () => {
    const output = await kubectl("apply", "-k", ".");
    for (const kind of ["sourceplugins", "executorplugins", "notifiers"]) {
      assert.match(
        output,
        new RegExp(
          `customresourcedefinition.apiextensions.k8s.io/${kind}.patchbay.dev (created|unchanged|configured)`,
        ),
        output,
      );
    }
    assert.match(output, /deployment.apps\/patchbay-controller-manager (created|unchanged|configured)/);
    await kubectl(
      "wait",
      "--for=condition=Established",
      "--timeout=60s",
      "crd/sourceplugins.patchbay.dev",
      "crd/executorplugins.patchbay.dev",
      "crd/notifiers.patchbay.dev",
    );
    await kubectl("create", "namespace", NAMESPACE);
    // A new CRD's schema reaches the server's OpenAPI a few seconds after it is established.
    const explained = await waitFor(
      () => kubectl("explain", "sourceplugin.spec.runtime").catch(() => undefined),
      { timeoutMs: 30_000, intervalMs: 1_000, what: "kubectl explain sourceplugin.spec.runtime" },
    );
    assert.match(explained, /external/);
  });

  it("a `patchbay operator` outside the cluster leads, and kubectl apply -f config/samples/ is reconciled into workloads", async () => {
    first = await startOperatorProcess(
      KUBECONFIG!,
      { ...LEASE, PATCHBAY_WATCH_NAMESPACE: NAMESPACE, PATCHBAY_INGRESS_TOKENS: TOKEN },
      children,
      { readyTimeoutMs: 30_000 },
    );
    await waitFor(async () => (await leaseHolder()) === first.identity, {
      timeoutMs: 30_000,
      what: `the Lease to name ${first.identity}`,
    });
    const output = await kubectl("apply", "-n", NAMESPACE, "-f", "config/samples/");
    assert.match(output, /sourceplugin.patchbay.dev\/heartbeat created/);
    for (const name of ["patchbay-source-heartbeat", "patchbay-executor-echo"]) {
      await waitFor(() => exists("deployment", name, "-n", NAMESPACE), {
        timeoutMs: 30_000,
        what: `Deployment ${name}`,
      });
      for (const kind of ["service", "networkpolicy", "serviceaccount"]) {
        assert.ok(await exists(kind, name, "-n", NAMESPACE), `${kind} ${name}`);
      }
    }
    // Every sample has a status at its current generation, whatever its Pods do on this cluster.
    await kubectl(
      "wait",
      "-n",
      NAMESPACE,
      '--for=jsonpath={.status.conditions[?(@.type=="WorkloadAvailable")].observedGeneration}=1',
      "--timeout=60s",
      "sourceplugin/heartbeat",
      "executorplugin/echo",
    );
  });

  it("external plugins and a webhook notifier become Ready; kubectl get patchbay lists them", async () => {
    await applyObjects(
      external("ExecutorPlugin", "e2e-echo", echo.address, { prefixes: ["e2e-echo"] }),
      external("SourcePlugin", "beats", heartbeat.address, {
        config: { intervalSeconds: 0.5, message: "e2e" },
      }),
      external("SourcePlugin", "inbox", inbox.address),
      {
        apiVersion: "patchbay.dev/v1alpha1",
        kind: "Notifier",
        metadata: { name: "hook" },
        spec: { type: "webhook", webhook: { url: { value: receiver.url } } },
      },
    );
    const waited = await kubectl(
      "wait",
      "-n",
      NAMESPACE,
      "--for=condition=Ready",
      "--timeout=60s",
      "executorplugin/e2e-echo",
      "sourceplugin/beats",
      "sourceplugin/inbox",
      "notifier/hook",
    );
    assert.equal(waited.match(/condition met/g)?.length, 4, waited);
    const table = await kubectl("get", "patchbay", "-n", NAMESPACE);
    assert.match(
      table,
      /executorplugin.patchbay.dev\/e2e-echo\s+True\s+Ready\s+external\s+\["e2e-echo"\]/,
      table,
    );
    assert.match(table, /sourceplugin.patchbay.dev\/beats\s+True\s+Ready\s+external/, table);
  });

  it("/commands answers through the external executor; a CloudEvent and the heartbeats reach the webhook", async () => {
    const answer = await fetch(`${first.ingress}/commands`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ command: "e2e-echo hello from the cluster" }),
    });
    assert.equal(answer.status, 200);
    assert.deepEqual(await answer.json(), {
      executor: "e2e-echo",
      status: "ok",
      output: "hello from the cluster",
      truncated: false,
    });
    const unauthenticated = await fetch(`${first.ingress}/commands`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ command: "e2e-echo hi" }),
    });
    assert.equal(unauthenticated.status, 401);

    const id = `e2e-${randomBytes(4).toString("hex")}`;
    const posted = await fetch(`${first.ingress}/events`, {
      method: "POST",
      headers: { "content-type": "application/cloudevents+json", authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({
        specversion: "1.0",
        id,
        source: "inbox",
        type: "com.example.deploy",
        data: { v: 1 },
      }),
    });
    assert.equal(posted.status, 202, await posted.text());
    await waitFor(() => receiver.events.some((event) => event.id === id), {
      timeoutMs: 20_000,
      what: `event ${id}`,
    });
    await waitFor(() => receiver.events.some((event) => event.source === "beats"), {
      timeoutMs: 20_000,
      what: "a heartbeat",
    });
  });

  it("a Slack app notifier with its tokens in a Secret: Socket Mode clicks run as the access rules say, answered in the thread", async () => {
    // The Slack API is a stand-in on loopback, which the operator (outside the cluster) reaches.
    await applyObjects(
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "slack-app" },
        stringData: { "bot-token": DEFAULT_BOT_TOKEN, "app-token": DEFAULT_APP_TOKEN },
      },
      {
        apiVersion: "patchbay.dev/v1alpha1",
        kind: "Notifier",
        metadata: { name: "slack-ops" },
        spec: {
          type: "slack",
          slack: {
            botToken: { secretKeyRef: { name: "slack-app", key: "bot-token" } },
            channel: "ops",
            apiUrl: slack.apiUrl,
          },
          sources: { names: ["inbox"] },
          commands: {
            executors: ["e2e-echo"],
            access: [{ users: ["U0ALICE"], executors: ["e2e-echo"] }],
            slack: { appToken: { secretKeyRef: { name: "slack-app", key: "app-token" } } },
          },
        },
      },
    );
    await kubectl("wait", "-n", NAMESPACE, "--for=condition=Ready", "--timeout=60s", "notifier/slack-ops");
    await waitFor(() => socketMode.connections().some((connection) => connection.open), {
      timeoutMs: 20_000,
      what: "the operator's Socket Mode connection",
    });
    const posted = await fetch(`${first.ingress}/events`, {
      method: "POST",
      headers: { "content-type": "application/cloudevents+json", authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({
        specversion: "1.0",
        id: `e2e-slack-${randomBytes(4).toString("hex")}`,
        source: "inbox",
        type: "com.example.deploy",
        data: { title: "deploy shop/api" },
      }),
    });
    assert.equal(posted.status, 202, await posted.text());
    const root = await waitFor(() => slack.messages(SLACK_CHANNEL)[0], {
      timeoutMs: 20_000,
      what: "the event in Slack",
    });
    const click = (user: string, value: string) =>
      socketMode.send(
        "interactive",
        blockActionsPayload({ value, user, channel: SLACK_CHANNEL, messageTs: root.ts }),
      );
    const replies = () => slack.thread(SLACK_CHANNEL, root.ts)?.replies ?? [];
    click("U0ALICE", "e2e-echo hello from slack");
    const answer = await waitFor(() => replies().find((reply) => reply.text?.includes("hello from slack")), {
      timeoutMs: 20_000,
      what: "alice's answer in the thread",
    });
    assert.equal(answer.thread_ts, root.ts);
    click("U0EVE", "e2e-echo hi");
    const refusal = await waitFor(() => replies().find((reply) => reply.text?.includes("U0EVE")), {
      timeoutMs: 20_000,
      what: "eve's refusal in the thread",
    });
    assert.match(refusal.text!, /no access rule of this channel names you/);
  });

  it("a broken config shows ConfigValid=False with the schema's words; the API server's CEL rules refuse bad resources", async () => {
    const patch = (seconds: number) =>
      kubectl(
        "patch",
        "-n",
        NAMESPACE,
        "sourceplugin",
        "beats",
        "--type",
        "merge",
        "-p",
        JSON.stringify({ spec: { config: { intervalSeconds: seconds } } }),
      );
    await patch(0);
    const jsonpath = '{.status.conditions[?(@.type=="ConfigValid")].message}';
    const message = await waitFor(
      async () => {
        const text = await kubectl(
          "get",
          "-n",
          NAMESPACE,
          "sourceplugin",
          "beats",
          "-o",
          `jsonpath=${jsonpath}`,
        );
        return text.includes("must be") ? text : undefined;
      },
      { timeoutMs: 20_000, what: "ConfigValid=False" },
    );
    assert.equal(message, "config.intervalSeconds must be >= 0.01");
    assert.match(
      await kubectl("get", "-n", NAMESPACE, "sourceplugin", "beats"),
      /beats\s+False\s+ConfigInvalid\b/,
    );
    await patch(0.5);
    await kubectl("wait", "-n", NAMESPACE, "--for=condition=Ready", "--timeout=30s", "sourceplugin/beats");

    // Two runtime modes at once: refused by the CRD's CEL rule, by the real API server.
    const both = external("SourcePlugin", "two-modes", "127.0.0.1:1");
    Object.assign(both.spec.runtime, { process: { command: ["node"] } });
    const error = await applyObjects(both).then(
      () => "",
      (failure: Error) => failure.message,
    );
    assert.match(error, /set exactly one runtime mode: pod, sidecar, external or process/);
  });

  it("kubectl delete of a pod-mode plugin: its Deployment, Service and NetworkPolicy are garbage-collected", async () => {
    const name = "patchbay-executor-echo";
    await kubectl("delete", "-n", NAMESPACE, "executorplugin", "echo", "--timeout=60s");
    await waitFor(
      async () =>
        !(await exists("deployment", name, "-n", NAMESPACE)) &&
        !(await exists("service", name, "-n", NAMESPACE)) &&
        !(await exists("networkpolicy", name, "-n", NAMESPACE)),
      { timeoutMs: 60_000, intervalMs: 500, what: `${name}'s workload to be garbage-collected` },
    );
  });

  it("a second operator: exactly one leader; after the leader's SIGKILL the other takes over and reconciles", async () => {
    second = await startOperatorProcess(
      KUBECONFIG!,
      { ...LEASE, PATCHBAY_WATCH_NAMESPACE: NAMESPACE, PATCHBAY_INGRESS_TOKENS: TOKEN },
      children,
      { readyTimeoutMs: 30_000 },
    );
    // Several retry periods: a second leader would have shown itself by now.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    assert.deepEqual([first.becameLeader(), second.becameLeader()], [1, 0]);
    assert.equal(await leaseHolder(), first.identity);

    const killedAt = Date.now();
    first.child.kill("SIGKILL");
    await first.exited;
    await waitFor(async () => (await leaseHolder()) === second!.identity, {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: "the second operator to hold the Lease",
    });
    const takeoverMs = Date.now() - killedAt;
    assert.equal(second.becameLeader(), 1);
    console.log(
      `takeover after SIGKILL: ${takeoverMs} ms (lease duration ${LEASE.PATCHBAY_LEASE_DURATION_SECONDS} s)`,
    );

    // The new leader reconciles: a resource created now becomes Ready, and the beats flow again.
    await applyObjects(external("ExecutorPlugin", "after-takeover", echo.address, { prefixes: ["later"] }));
    await kubectl(
      "wait",
      "-n",
      NAMESPACE,
      "--for=condition=Ready",
      "--timeout=60s",
      "executorplugin/after-takeover",
    );
    const seen = receiver.events.length;
    await waitFor(() => receiver.events.slice(seen).some((event) => event.source === "beats"), {
      timeoutMs: 20_000,
      what: "heartbeats through the new leader",
    });
  });
});
