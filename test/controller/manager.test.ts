/**
 * Manager and EventRecorder against the API double: two managers with the same controller and
 * leader election — only the leader reconciles, the other takes over when it stops; Events are
 * recorded and aggregated.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CoreV1Api, type CoreV1Event, type V1ConfigMap } from "@kubernetes/client-node";
import { Registry } from "prom-client";
import {
  Controller,
  EventRecorder,
  Manager,
  ResourceInformer,
  type ObjectKey,
} from "../../src/controller/index.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { startKubeApiDouble, type KubeApiDouble } from "../support/kube-api/index.ts";
import { waitFor } from "../support/wait.ts";

const log = createLogger("manager-test", "error");

describe("Manager against the API double", () => {
  let api: KubeApiDouble;

  before(async () => {
    api = await startKubeApiDouble();
  });
  after(async () => {
    await api.close();
  });

  const everywhere = new Set<string>();

  function replica(identity: string, reconciled: string[]) {
    const kubeConfig = api.kubeConfig();
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const registry = new Registry();
    const informer = new ResourceInformer<V1ConfigMap>({
      kubeConfig,
      path: "/api/v1/namespaces/default/configmaps",
      list: () => core.listNamespacedConfigMap({ namespace: "default" }),
      log,
    });
    const controller = new Controller({
      name: "configmaps",
      registry,
      log,
      reconciler: {
        async reconcile(key: ObjectKey) {
          reconciled.push(`${identity} ${key.name}`);
        },
      },
    }).watch(informer);
    const manager = new Manager({
      kubeConfig,
      registry,
      log,
      leaderElection: {
        namespace: "default",
        name: "manager-test",
        identity,
        leaseDurationMs: 1000,
        renewDeadlineMs: 700,
        retryPeriodMs: 200,
      },
    })
      .add(controller)
      .add({
        // Like an ingress: serves on every replica, leader or not.
        needLeaderElection: false,
        start: (signal) =>
          new Promise<void>((resolve) => {
            everywhere.add(identity);
            signal.addEventListener("abort", () => resolve());
          }),
      });
    const stop = new AbortController();
    const running = manager.start(stop.signal);
    return { identity, manager, informer, stop, running, registry };
  }

  it("runs controllers only on the leader; the other replica takes over when the leader stops", async (t) => {
    const reconciled: string[] = [];
    api.create({ apiVersion: "v1", kind: "ConfigMap", metadata: { namespace: "default", name: "first" } });
    const a = replica("replica-a", reconciled);
    const b = replica("replica-b", reconciled);
    t.after(async () => {
      a.stop.abort();
      b.stop.abort();
      await Promise.all([a.running, b.running]);
    });
    await waitFor(() => a.manager.readiness() === undefined && b.manager.readiness() === undefined, {
      what: "both replicas' informers to sync",
    });
    const leader = await waitFor(() => [a, b].find((r) => r.manager.isLeader), { what: "a leader" });
    const follower = leader === a ? b : a;
    await waitFor(() => reconciled.length > 0, { what: "the first reconcile" });
    assert.deepEqual(reconciled, [`${leader.identity} first`]);

    api.create({ apiVersion: "v1", kind: "ConfigMap", metadata: { namespace: "default", name: "second" } });
    await waitFor(() => reconciled.length === 2, { what: "the second reconcile" });
    await waitFor(() => follower.informer.get({ namespace: "default", name: "second" }), {
      what: "the follower's cache to see it too",
    });
    assert.deepEqual(reconciled, [`${leader.identity} first`, `${leader.identity} second`]);
    assert.equal(follower.manager.isLeader, false);
    assert.deepEqual(
      [...everywhere].sort(),
      ["replica-a", "replica-b"],
      "needLeaderElection=false runs on both",
    );

    leader.stop.abort();
    await leader.running;
    await waitFor(() => follower.manager.isLeader, { what: "the follower to take over" });
    // The new leader reconciles everything in its cache once.
    await waitFor(() => reconciled.filter((entry) => entry.startsWith(follower.identity)).length === 2, {
      what: "the new leader's reconciles",
    });
    assert.deepEqual(reconciled.filter((entry) => entry.startsWith(follower.identity)).sort(), [
      `${follower.identity} first`,
      `${follower.identity} second`,
    ]);
    assert.match(
      await follower.registry.metrics(),
      /controller_runtime_reconcile_total\{controller="configmaps",result="success"\} 2/,
    );
  });

  it("reports not ready until its informers have synced", async (t) => {
    const kubeConfig = api.kubeConfig();
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const informer = new ResourceInformer<V1ConfigMap>({
      kubeConfig,
      path: "/api/v1/namespaces/kube-system/configmaps",
      list: () => core.listNamespacedConfigMap({ namespace: "kube-system" }),
      log,
      restartBackoff: { initialMs: 50, maxMs: 50 },
    });
    const manager = new Manager({ kubeConfig, registry: new Registry(), log }).addInformer(informer);
    assert.equal(manager.readiness(), "manager not started");
    const failing = api.failNext({
      method: "GET",
      pathPattern: "/namespaces/kube-system/configmaps",
      status: 503,
      times: 3,
    });
    const stop = new AbortController();
    const running = manager.start(stop.signal);
    t.after(async () => {
      stop.abort();
      await running;
    });
    assert.match(
      manager.readiness() ?? "",
      /informers not synced: \/api\/v1\/namespaces\/kube-system\/configmaps/,
    );
    assert.equal(manager.isLeader, true, "without leader election every replica runs its controllers");
    await waitFor(() => manager.readiness() === undefined, { what: "readiness" });
    assert.equal(failing.remaining(), 0);
  });
});

describe("EventRecorder against the API double", () => {
  let api: KubeApiDouble;

  before(async () => {
    api = await startKubeApiDouble();
  });
  after(async () => {
    await api.close();
  });

  const subject = {
    apiVersion: "patchbay.dev/v1alpha1",
    kind: "SourcePlugin",
    metadata: { namespace: "default", name: "heartbeat", uid: "1234-abcd" },
  };

  function events(): CoreV1Event[] {
    return api.list({ apiVersion: "v1", kind: "Event", namespace: "default" }) as unknown as CoreV1Event[];
  }

  it("records an Event about the object and aggregates repeats into a count", async () => {
    const recorder = new EventRecorder({ kubeConfig: api.kubeConfig(), component: "patchbay-operator", log });
    await recorder.event(subject, "Warning", "ConfigInvalid", "config.interval: must be a string");
    await recorder.event(subject, "Warning", "ConfigInvalid", "config.interval: must be a string");
    await recorder.event(subject, "Warning", "ConfigInvalid", "config.interval: must be a string");
    await recorder.event(subject, "Normal", "Ready", "plugin is serving");
    const recorded = events();
    assert.equal(recorded.length, 2);
    const warning = recorded.find((e) => e.reason === "ConfigInvalid");
    assert.equal(warning?.count, 3);
    assert.equal(warning?.type, "Warning");
    assert.equal(warning?.message, "config.interval: must be a string");
    assert.deepEqual(
      {
        kind: warning?.involvedObject.kind,
        name: warning?.involvedObject.name,
        uid: warning?.involvedObject.uid,
      },
      { kind: "SourcePlugin", name: "heartbeat", uid: "1234-abcd" },
    );
    assert.equal(warning?.source?.component, "patchbay-operator");
    assert.equal(recorded.find((e) => e.reason === "Ready")?.count, 1);
    const patches = api.requests.filter((r) => r.method === "PATCH" && r.path.includes("/events/"));
    assert.ok(patches.length === 2 && patches.every((r) => r.contentType === "application/merge-patch+json"));
  });

  it("never throws: a failed write is logged and the next event is recorded", async () => {
    const recorder = new EventRecorder({ kubeConfig: api.kubeConfig(), component: "patchbay-operator", log });
    api.failNext({ method: "POST", pathPattern: "/namespaces/default/events", status: 500 });
    await recorder.event(subject, "Normal", "Lost", "this one fails");
    await recorder.event(subject, "Normal", "Kept", "this one is recorded");
    assert.equal(events().filter((e) => e.reason === "Lost").length, 0);
    assert.equal(events().filter((e) => e.reason === "Kept").length, 1);
  });

  it("starts a new Event when the aggregated one is gone", async () => {
    const recorder = new EventRecorder({ kubeConfig: api.kubeConfig(), component: "patchbay-operator", log });
    await recorder.event(subject, "Normal", "Restarted", "plugin restarted");
    const first = events().find((e) => e.reason === "Restarted");
    api.delete({ apiVersion: "v1", kind: "Event", namespace: "default", name: first!.metadata.name! });
    await recorder.event(subject, "Normal", "Restarted", "plugin restarted");
    const again = events().filter((e) => e.reason === "Restarted");
    assert.equal(again.length, 1);
    assert.equal(again[0]?.count, 1);
  });

  it("records nothing while mayRecord says no (a replica that no longer leads)", async () => {
    let leading = false;
    const recorder = new EventRecorder({
      kubeConfig: api.kubeConfig(),
      component: "patchbay-operator",
      log,
      mayRecord: () => leading,
    });
    await recorder.event(subject, "Normal", "Fenced", "not sent");
    assert.equal(events().filter((e) => e.reason === "Fenced").length, 0);
    leading = true;
    await recorder.event(subject, "Normal", "Fenced", "sent");
    assert.equal(events().filter((e) => e.reason === "Fenced").length, 1);
  });
});
