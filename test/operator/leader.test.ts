/**
 * Two operator replicas against the API double, with real plugin processes (reached as external
 * plugins) and a real HTTP receiver behind a webhook Notifier. Only the Lease holder reconciles and
 * consumes source streams; every replica serves the ingress from a data plane in line with the cluster.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import type { RunningOperator } from "../../src/operator/index.ts";
import type { KubeApiDouble } from "../support/kube-api/index.ts";
import { startPluginProcess, type StartedPlugin } from "../support/plugin-process.ts";
import { waitFor } from "../support/wait.ts";
import {
  conditionOf,
  markDeploymentAvailable,
  plugin,
  ref,
  runOperator,
  startCluster,
  startWebhookReceiver,
  waitForCondition,
  type WebhookReceiver,
} from "./harness.ts";

const LEASE_MS = 2_000;
const BEAT_SECONDS = 0.05;

describe("two operator replicas", () => {
  let api: KubeApiDouble;
  let echo: StartedPlugin;
  let heartbeat: StartedPlugin;
  let cloudevents: StartedPlugin;
  let prometheus: StartedPlugin;
  let receiver: WebhookReceiver;
  let leader: RunningOperator;
  let follower: RunningOperator;

  before(async () => {
    [api, echo, heartbeat, cloudevents, prometheus, receiver] = await Promise.all([
      startCluster(),
      startPluginProcess("plugins/echo/main.ts"),
      startPluginProcess("plugins/heartbeat/main.ts"),
      startPluginProcess("plugins/cloudevents/main.ts"),
      startPluginProcess("plugins/prometheus/main.ts"),
      startWebhookReceiver(),
    ]);
    // The double runs no Pods: the pod-mode executor is the echo process, on both replicas.
    const endpoints = new Map([["pod-echo", echo.address]]);
    leader = await runOperator(api, "replica-a", endpoints, { leaseDurationMs: LEASE_MS });
    await waitFor(() => leader.isLeader, { what: "replica-a to lead" });
    follower = await runOperator(api, "replica-b", endpoints, { leaseDurationMs: LEASE_MS });

    const external = (address: string) => ({ external: { address } });
    api.create(plugin("ExecutorPlugin", "echo", { prefixes: ["echo"], runtime: external(echo.address) }));
    api.create(plugin("SourcePlugin", "inbox", { runtime: external(cloudevents.address) }));
    api.create(plugin("SourcePlugin", "alerts", { runtime: external(prometheus.address) }));
    api.create(
      plugin("SourcePlugin", "beats", {
        runtime: external(heartbeat.address),
        config: { intervalSeconds: BEAT_SECONDS },
      }),
    );
    api.create(plugin("Notifier", "hook", { type: "webhook", webhook: { url: { value: receiver.url } } }));
  });

  after(async () => {
    await Promise.all([leader?.stop(500), follower?.stop(500)]);
    await Promise.all([echo?.stop(), heartbeat?.stop(), cloudevents?.stop(), prometheus?.stop()]);
    await receiver?.close();
    await api?.close();
  });

  /** Reconciles this replica has run, read from its own /metrics over HTTP. */
  async function reconciles(operator: RunningOperator): Promise<number> {
    const text = await (await fetch(`${operator.dataPlane.managementUrl}/metrics`)).text();
    const lines = text.split("\n").filter((line) => line.startsWith("controller_runtime_reconcile_total{"));
    assert.ok(lines.length > 0, "controller_runtime_reconcile_total is exported");
    return lines.reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
  }

  const beats = () => receiver.events.filter((event) => event.source === "beats");
  const tickOf = (event: { data?: unknown }) => (event.data as { tick: number }).tick;

  it("only the leader reconciles and streams; the follower's data plane is connected to every plugin", async () => {
    for (const [kind, name] of [
      ["ExecutorPlugin", "echo"],
      ["SourcePlugin", "inbox"],
      ["SourcePlugin", "alerts"],
      ["SourcePlugin", "beats"],
      ["Notifier", "hook"],
    ] as const) {
      await waitForCondition(api, ref(kind, name), "Ready", { status: "True" });
    }
    await waitFor(
      () =>
        [
          ["executor", "echo"],
          ["source", "inbox"],
          ["source", "alerts"],
          ["source", "beats"],
        ].every(([kind, name]) => follower.dataPlane.hub.state(kind as never, name!)?.phase === "Ready"),
      { what: "the follower's hub to be connected to every plugin" },
    );
    assert.equal(leader.isLeader, true);
    assert.equal(follower.isLeader, false);
    assert.equal(leader.dataPlane.hub.streaming, true);
    assert.equal(follower.dataPlane.hub.streaming, false);
    assert.ok((await reconciles(leader)) > 0);
    assert.equal(await reconciles(follower), 0, "the follower reconciled");
    // Ready for traffic: informers synced and the data plane applied.
    assert.equal((await fetch(`${follower.dataPlane.managementUrl}/readyz`)).status, 200);
  });

  it("delivers a CloudEvent POSTed to the follower's ingress to the notifier", async () => {
    const post = (operator: RunningOperator, id: string) =>
      fetch(`${operator.dataPlane.ingressUrl}/events`, {
        method: "POST",
        headers: { "content-type": "application/cloudevents+json" },
        body: JSON.stringify({
          specversion: "1.0",
          id,
          source: "inbox",
          type: "dev.example.deployed",
          data: { app: "shop" },
        }),
      });
    const accepted = await post(follower, "via-follower-1");
    assert.equal(accepted.status, 202, await accepted.text());
    const delivered = await waitFor(() => receiver.events.find((event) => event.id === "via-follower-1"), {
      what: "the follower's event at the receiver",
    });
    assert.equal(delivered.source, "inbox");
    assert.deepEqual(delivered.data, { app: "shop" });
    // An unknown source is still refused on the follower, not accepted and lost.
    const refused = await fetch(`${follower.dataPlane.ingressUrl}/events`, {
      method: "POST",
      headers: { "content-type": "application/cloudevents+json" },
      body: JSON.stringify({ specversion: "1.0", id: "x", source: "nobody", type: "t" }),
    });
    assert.equal(refused.status, 404);
  });

  it("forwards /sources/<name> on the follower to the source plugin and delivers what it returns", async () => {
    const response = await fetch(`${follower.dataPlane.ingressUrl}/sources/alerts/`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: readFileSync("plugins/prometheus/testdata/alertmanager-v4.json"),
    });
    assert.equal(response.status, 202, await response.text());
    await waitFor(() => receiver.events.some((event) => event.source === "alerts"), {
      what: "an alert from the follower at the receiver",
    });
  });

  it("answers /commands on the follower through the echo executor", async () => {
    const response = await fetch(`${follower.dataPlane.ingressUrl}/commands`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ command: "echo hello from the follower" }),
    });
    assert.equal(response.status, 200);
    const answer = (await response.json()) as { executor: string; status: string; output: string };
    assert.deepEqual(
      { executor: answer.executor, status: answer.status, output: answer.output },
      { executor: "echo", status: "ok", output: "hello from the follower" },
    );
  });

  it("gives a pod-mode plugin an address on every replica once its Deployment is available", async () => {
    api.create(
      plugin("ExecutorPlugin", "pod-echo", {
        prefixes: ["pecho"],
        runtime: { pod: { image: "ghcr.io/patchbay/patchbay:0.1.0", args: ["plugins/echo/main.ts"] } },
      }),
    );
    for (const operator of [leader, follower]) {
      await waitFor(
        () => operator.dataPlane.hub.state("executor", "pod-echo")?.reason === "WorkloadUnavailable",
        {
          what: "the pod-mode executor to wait for its workload",
        },
      );
    }
    const ask = async () => {
      const response = await fetch(`${follower.dataPlane.ingressUrl}/commands`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ command: "pecho hi" }),
      });
      return { status: response.status, body: (await response.json()) as { output: string } };
    };
    assert.equal((await ask()).status, 503, "answered before the workload was available");
    await waitFor(() => api.get(ref("Deployment", "patchbay-executor-pod-echo")), { what: "the Deployment" });
    markDeploymentAvailable(api, "patchbay-executor-pod-echo");
    await waitFor(() => follower.dataPlane.hub.state("executor", "pod-echo")?.phase === "Ready", {
      what: "the follower to dial the pod-mode executor",
    });
    assert.deepEqual(await ask(), {
      status: 200,
      body: { executor: "pod-echo", status: "ok", output: "hi", truncated: false },
    });
    await waitForCondition(api, ref("ExecutorPlugin", "pod-echo"), "Ready", { status: "True" });
  });

  it("delivers each streamed event once although both replicas are connected to the source", async () => {
    const start = beats().length;
    await waitFor(() => beats().length >= start + 20, { what: "20 more beats at the receiver" });
    const ids = beats().map((event) => event.id);
    assert.equal(new Set(ids).size, ids.length, "a beat was delivered twice");
    const ticks = beats().map(tickOf);
    for (let i = 1; i < ticks.length; i++)
      assert.equal(ticks[i], ticks[i - 1]! + 1, `gap after ${ticks[i - 1]}`);
  });

  it("after the leader stops, the follower takes over within the lease duration and streams; delivery continues", async () => {
    const stoppedAt = Date.now();
    await leader.stop(500);
    assert.deepEqual(leader.dataPlane.hub.states(), [], "the old leader let go of its plugins");
    const lastTick = tickOf(beats().at(-1)!);
    await waitFor(() => follower.isLeader, { timeoutMs: LEASE_MS * 2, what: "replica-b to take over" });
    assert.ok(Date.now() - stoppedAt <= LEASE_MS + 1_000, `took ${Date.now() - stoppedAt} ms`);
    assert.equal(follower.dataPlane.hub.streaming, true);
    await waitFor(() => beats().filter((event) => tickOf(event) > lastTick).length >= 10, {
      what: "beats streamed by the new leader",
    });
    const ids = beats().map((event) => event.id);
    assert.equal(new Set(ids).size, ids.length, "a beat was delivered twice across the handover");

    // The new leader reconciles changes.
    api.patch(ref("ExecutorPlugin", "echo"), { spec: { prefixes: ["echo", "say"] } });
    await waitFor(
      () => conditionOf(api.get(ref("ExecutorPlugin", "echo")), "Ready")?.observedGeneration === 2,
      { what: "generation 2 observed by the new leader" },
    );
    assert.ok((await reconciles(follower)) > 0);
    const response = await fetch(`${follower.dataPlane.ingressUrl}/commands`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ command: "say still here" }),
    });
    assert.equal(((await response.json()) as { output: string }).output, "still here");
  });
});
