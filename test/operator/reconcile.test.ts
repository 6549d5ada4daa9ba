import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { RunningOperator } from "../../src/operator/index.ts";
import type { KubeApiDouble, KubeObject } from "../support/kube-api/index.ts";
import { startPluginProcess, type StartedPlugin } from "../support/plugin-process.ts";
import { waitFor } from "../support/wait.ts";
import {
  conditionOf,
  markDeploymentAvailable,
  plugin,
  ref,
  runOperator,
  startCluster,
  waitForCondition,
} from "./harness.ts";

const IMAGE = "ghcr.io/patchbay/patchbay:0.1.0";
/** Patchbay's own namespace, where its Deployment is and the only one whose plugins may be sidecars. */
const SYSTEM = "patchbay-system";

describe("operator reconcilers against the API double", () => {
  let api: KubeApiDouble;
  let operator: RunningOperator;
  let heartbeat: StartedPlugin;
  let echo: StartedPlugin;
  const endpoints = new Map<string, string>();

  before(async () => {
    [api, heartbeat, echo] = await Promise.all([
      startCluster(),
      startPluginProcess("plugins/heartbeat/main.ts"),
      startPluginProcess("plugins/echo/main.ts"),
    ]);
    endpoints.set("heartbeat", heartbeat.address);
    operator = await runOperator(api, "solo", endpoints);
    await waitFor(() => operator.isLeader, { what: "leadership" });
  });

  after(async () => {
    await operator?.stop(1_000);
    await Promise.all([heartbeat?.stop(), echo?.stop()]);
    await api?.close();
  });

  it("creates an owned ServiceAccount, Deployment, Service and NetworkPolicy for a pod plugin, updates and garbage-collects them", async () => {
    const created = api.create(
      plugin("SourcePlugin", "heartbeat", {
        runtime: { pod: { image: IMAGE, args: ["plugins/heartbeat/main.ts"] } },
        config: { intervalSeconds: 1 },
      }),
    );
    const name = "patchbay-source-heartbeat";
    const deployment = await waitFor(() => api.get(ref("Deployment", name)), { what: "the Deployment" });
    const service = api.get(ref("Service", name))!;
    const account = api.get(ref("ServiceAccount", name))!;
    const policy = api.get({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      name,
      namespace: "team-a",
    })!;
    assert.deepEqual(
      (policy.spec as { ingress: { from: { namespaceSelector: unknown }[] }[] }).ingress[0]!.from[0]!
        .namespaceSelector,
      { matchLabels: { "kubernetes.io/metadata.name": "patchbay-system" } },
    );
    for (const object of [deployment, service, account, policy]) {
      assert.ok(object, "created");
      assert.deepEqual(
        object.metadata.ownerReferences?.map((owner) => [
          owner.kind,
          owner.name,
          owner.uid,
          owner.controller,
        ]),
        [["SourcePlugin", "heartbeat", created.metadata.uid, true]],
      );
    }
    // Not available yet: the hub is not given an address, and the status says why.
    let cr = await waitForCondition(api, ref("SourcePlugin", "heartbeat"), "WorkloadAvailable", {
      reason: "Deploying",
    });
    assert.equal(conditionOf(cr, "Ready")!.status, "Unknown");
    assert.equal(conditionOf(cr, "Ready")!.reason, "Deploying");
    assert.equal(conditionOf(cr, "Connected")!.reason, "AwaitingWorkload");
    assert.equal(operator.dataPlane.hub.state("source", "heartbeat")?.reason, "WorkloadUnavailable");

    markDeploymentAvailable(api, name);
    cr = await waitForCondition(api, ref("SourcePlugin", "heartbeat"), "Ready", { status: "True" });
    const status = cr.status as Record<string, unknown>;
    assert.equal(status.mode, "pod");
    assert.equal(status.observedGeneration, 1);
    assert.equal(status.ready, "True");
    assert.deepEqual((status.plugin as { name: string }).name, "heartbeat");
    for (const type of ["Ready", "WorkloadAvailable", "Connected", "ConfigValid"]) {
      assert.equal(conditionOf(cr, type)!.observedGeneration, 1, type);
      assert.equal(conditionOf(cr, type)!.status, "True", type);
    }

    // Someone loosens the NetworkPolicy: the next reconcile puts the rule back (sent as `from`, which
    // client-node's model calls `_from`).
    const policyRef = {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      name,
      namespace: "team-a",
    };
    api.patch(policyRef, { spec: { ingress: [{ ports: [{ port: "grpc" }] }] } });
    // A spec change updates the Deployment in place and the conditions follow the new generation.
    api.patch(ref("SourcePlugin", "heartbeat"), {
      spec: {
        runtime: {
          pod: { image: IMAGE, args: ["plugins/heartbeat/main.ts"], env: [{ name: "X", value: "1" }] },
        },
      },
    });
    const updated = await waitFor(
      () => {
        const live = api.get(ref("Deployment", name));
        const env = (live?.spec as { template: { spec: { containers: { env: { name: string }[] }[] } } })
          ?.template.spec.containers[0]!.env;
        return env?.some((variable) => variable.name === "X") ? live : undefined;
      },
      { what: "the Deployment to carry the new env" },
    );
    assert.equal(updated.metadata.uid, deployment.metadata.uid, "updated, not recreated");
    const restored = await waitFor(
      () => {
        const ingress = (api.get(policyRef)?.spec as { ingress: Record<string, unknown>[] }).ingress;
        return ingress[0]?.from ? ingress : undefined;
      },
      { what: "the NetworkPolicy's rule to be restored" },
    );
    assert.deepEqual(Object.keys(restored[0]!).sort(), ["from", "ports"]);
    await waitFor(
      () => conditionOf(api.get(ref("SourcePlugin", "heartbeat")), "Ready")?.observedGeneration === 2,
      {
        what: "observedGeneration 2",
      },
    );

    api.delete(ref("SourcePlugin", "heartbeat"));
    await waitFor(
      () =>
        !api.get(ref("Deployment", name)) &&
        !api.get(ref("Service", name)) &&
        !api.get(ref("ServiceAccount", name)) &&
        !api.get({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", name, namespace: "team-a" }),
      { what: "garbage collection of the workload" },
    );
    await waitFor(() => operator.dataPlane.hub.state("source", "heartbeat") === undefined, {
      what: "the hub to forget the plugin",
    });
  });

  it("shows an invalid spec (two runtimes) as InvalidSpec", async () => {
    api.create(
      plugin("SourcePlugin", "two-runtimes", {
        runtime: { pod: { image: IMAGE }, external: { address: "x.example:50051" } },
      }),
    );
    const cr = await waitForCondition(api, ref("SourcePlugin", "two-runtimes"), "Ready", {
      status: "False",
      reason: "InvalidSpec",
    });
    assert.match(
      conditionOf(cr, "Ready")!.message,
      /spec\.runtime: set exactly one runtime mode: pod, sidecar, external or process/,
    );
    assert.equal(conditionOf(cr, "ConfigValid")!.reason, "InvalidSpec");
    assert.equal(api.get(ref("Deployment", "patchbay-source-two-runtimes")), undefined);
  });

  it("refuses the process runtime with UnsupportedRuntime", async () => {
    api.create(plugin("SourcePlugin", "local-only", { runtime: { process: { command: ["node", "x.ts"] } } }));
    const cr = await waitForCondition(api, ref("SourcePlugin", "local-only"), "WorkloadAvailable", {
      status: "False",
      reason: "UnsupportedRuntime",
    });
    assert.equal(conditionOf(cr, "Ready")!.status, "False");
  });

  it("shows a config the plugin's schema rejects as ConfigValid=False with the schema error, and applies a fix live", async () => {
    api.create(
      plugin("ExecutorPlugin", "echo", {
        prefixes: ["echo"],
        runtime: { external: { address: echo.address } },
        config: { upperCase: "yes" },
      }),
    );
    let cr = await waitForCondition(api, ref("ExecutorPlugin", "echo"), "ConfigValid", {
      status: "False",
      reason: "ConfigInvalid",
    });
    assert.match(conditionOf(cr, "ConfigValid")!.message, /upperCase/);
    assert.match(conditionOf(cr, "ConfigValid")!.message, /boolean/);
    assert.equal(conditionOf(cr, "Ready")!.reason, "ConfigInvalid");

    api.patch(ref("ExecutorPlugin", "echo"), { spec: { config: { upperCase: false } } });
    cr = await waitForCondition(api, ref("ExecutorPlugin", "echo"), "Ready", {
      status: "True",
      observedGeneration: 2,
    });
    assert.equal((cr.status as { endpoint: string }).endpoint, echo.address);
    const pid = echo.child.pid;
    const ask = () =>
      operator.dataPlane.hub.execute(
        "echo",
        { command: "echo hello", args: ["echo", "hello"], prefix: "echo", context: {} as never },
        2_000,
      );
    assert.equal((await ask()).output, "hello");

    // Config change: the hub reconnects with the new config; no process is restarted.
    api.patch(ref("ExecutorPlugin", "echo"), { spec: { config: { upperCase: true } } });
    await waitFor(async () => (await ask().catch(() => undefined))?.output === "HELLO", {
      what: "the new config to take effect",
    });
    assert.equal(echo.child.pid, pid);
    assert.equal(echo.child.exitCode, null);
  });

  it("gives a prefix to the older executor; the newer one shows PrefixConflict until the older goes", async () => {
    await waitForCondition(api, ref("ExecutorPlugin", "echo"), "Ready", { status: "True" });
    api.create(
      plugin(
        "ExecutorPlugin",
        "echo-too",
        { prefixes: ["say", "echo"], runtime: { external: { address: echo.address } } },
        "team-b",
      ),
    );
    const cr = await waitForCondition(api, ref("ExecutorPlugin", "echo-too", "team-b"), "PrefixConflict", {
      status: "True",
      reason: "PrefixConflict",
    });
    assert.match(conditionOf(cr, "PrefixConflict")!.message, /'echo'.*team-a\/echo/);
    assert.equal(conditionOf(cr, "Ready")!.status, "False");
    assert.equal(conditionOf(cr, "Ready")!.reason, "PrefixConflict");
    assert.match(conditionOf(cr, "Ready")!.message, /'echo'.*team-a\/echo/);
    const older = api.get(ref("ExecutorPlugin", "echo"));
    assert.equal(conditionOf(older, "Ready")!.status, "True", "the older keeps it");
    assert.equal(conditionOf(older, "PrefixConflict")!.status, "False");
    assert.equal(conditionOf(older, "PrefixConflict")!.reason, "NoConflict");
    // The newer one is not served: its prefix 'say' is not dispatched to it either.
    assert.equal(operator.dataPlane.hub.state("executor", "echo-too"), undefined);

    api.delete(ref("ExecutorPlugin", "echo"));
    const freed = await waitForCondition(api, ref("ExecutorPlugin", "echo-too", "team-b"), "Ready", {
      status: "True",
    });
    assert.equal(conditionOf(freed, "PrefixConflict")!.status, "False");
    await waitFor(() => operator.dataPlane.hub.state("executor", "echo") === undefined, {
      what: "echo removed",
    });
    api.delete(ref("ExecutorPlugin", "echo-too", "team-b"));
  });

  it("adds a sidecar container to Patchbay's Deployment, holds a finalizer, and removes both on delete", async () => {
    const manager = ref("Deployment", "patchbay-controller-manager", "patchbay-system");
    const containers = () =>
      (api.get(manager)!.spec as { template: { spec: { containers: { name: string; image: string }[] } } })
        .template.spec.containers ?? [];
    // A real executor answers at the sidecar's address, so the plugin settles Ready and nothing but a
    // change to the Deployment itself can bring its CR back to the reconciler.
    endpoints.set("side", echo.address);
    api.create(
      plugin(
        "ExecutorPlugin",
        "side",
        {
          prefixes: ["side"],
          runtime: { sidecar: { image: IMAGE, port: 7001 } },
        },
        SYSTEM,
      ),
    );
    await waitFor(() => containers().some((container) => container.name === "patchbay-executor-side"), {
      what: "the sidecar container",
    });
    const cr = await waitForCondition(api, ref("ExecutorPlugin", "side", SYSTEM), "WorkloadAvailable", {
      status: "True",
      reason: "SidecarConfigured",
    });
    assert.deepEqual(cr.metadata.finalizers, ["patchbay.dev/cleanup"]);
    // The sidecar listens on 127.0.0.1:7001 inside the Pod; the test points the hub at the echo process.
    const sidecar = containers().find(
      (container) => container.name === "patchbay-executor-side",
    ) as unknown as {
      env: { name: string; value: string }[];
    };
    assert.ok(
      sidecar.env.some((env) => env.name === "PATCHBAY_PLUGIN_ADDRESS" && env.value === "127.0.0.1:7001"),
    );
    assert.equal((cr.status as { endpoint: string }).endpoint, echo.address);
    assert.equal(containers()[0]!.name, "manager");

    await waitForCondition(api, ref("ExecutorPlugin", "side", SYSTEM), "Ready", { status: "True" });
    // Taken out of the Deployment by hand: the operator puts it back.
    api.patch(manager, [{ op: "remove", path: "/spec/template/spec/containers/1" }], "json");
    await waitFor(() => containers().some((container) => container.name === "patchbay-executor-side"), {
      what: "the sidecar container to be put back",
    });

    api.patch(ref("ExecutorPlugin", "side", SYSTEM), {
      spec: { runtime: { sidecar: { image: `${IMAGE}-b`, port: 7001 } } },
    });
    await waitFor(
      () =>
        containers().find((container) => container.name === "patchbay-executor-side")?.image === `${IMAGE}-b`,
      {
        what: "the sidecar's new image",
      },
    );
    assert.equal(containers().length, 2);

    api.delete(ref("ExecutorPlugin", "side", SYSTEM));
    await waitFor(() => !api.get(ref("ExecutorPlugin", "side", SYSTEM)), { what: "the CR to be gone" });
    assert.deepEqual(
      containers().map((container) => container.name),
      ["manager"],
    );
  });

  it("refuses a sidecar from another namespace: nothing joins Patchbay's Pods and nothing is dialled", async () => {
    const manager = ref("Deployment", "patchbay-controller-manager", SYSTEM);
    const before = JSON.stringify(api.get(manager)!.spec);
    api.create(
      plugin("ExecutorPlugin", "intruder", {
        prefixes: ["intruder"],
        runtime: { sidecar: { image: IMAGE, port: 7002 } },
      }),
    );
    const cr = await waitForCondition(api, ref("ExecutorPlugin", "intruder"), "WorkloadAvailable", {
      status: "False",
      reason: "SidecarNotAllowed",
    });
    const conditions = (cr.status as { conditions: { type: string; message: string }[] }).conditions;
    assert.match(
      conditions.find((condition) => condition.type === "WorkloadAvailable")!.message,
      /only resources in namespace patchbay-system may use it/,
    );
    assert.equal(cr.metadata.finalizers, undefined);
    assert.equal(JSON.stringify(api.get(manager)!.spec), before);
    assert.equal(operator.dataPlane.hub.state("executor", "intruder")?.reason, "SidecarNotAllowed");
    api.delete(ref("ExecutorPlugin", "intruder"));
  });

  it("applies Notifiers and reports a missing Secret until it exists", async () => {
    api.create(plugin("Notifier", "log", { type: "log" }));
    await waitForCondition(api, ref("Notifier", "log"), "Ready", { status: "True" });
    api.create(
      plugin("Notifier", "hook", {
        type: "webhook",
        webhook: { url: { secretKeyRef: { name: "hook", key: "url" } } },
      }),
    );
    const cr = await waitForCondition(api, ref("Notifier", "hook"), "ConfigValid", {
      status: "False",
      reason: "ConfigInvalid",
    });
    assert.match(conditionOf(cr, "ConfigValid")!.message, /Secret team-a\/hook not found/);
    assert.equal((cr.status as { reason: string }).reason, "ConfigInvalid");

    api.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "hook", namespace: "team-a" },
      data: { url: Buffer.from("http://127.0.0.1:9/hook").toString("base64") },
    } as unknown as KubeObject);
    api.patch(ref("Notifier", "hook"), { metadata: { annotations: { touched: "1" } } });
    await waitForCondition(api, ref("Notifier", "hook"), "Ready", { status: "True" });

    api.create(plugin("Notifier", "broken", { type: "slack" }));
    const broken = await waitForCondition(api, ref("Notifier", "broken"), "Ready", {
      status: "False",
      reason: "InvalidSpec",
    });
    assert.match(conditionOf(broken, "Ready")!.message, /slack/);

    // The router knows notifiers by name: a newer namesake in another namespace is refused, and the
    // others keep delivering.
    api.create(plugin("Notifier", "log", { type: "log" }, "team-b"));
    const namesake = await waitForCondition(api, ref("Notifier", "log", "team-b"), "ConfigValid", {
      status: "False",
      reason: "NameConflict",
    });
    assert.match(conditionOf(namesake, "ConfigValid")!.message, /team-a\/log already uses the name 'log'/);
    assert.equal(conditionOf(api.get(ref("Notifier", "log")), "Ready")!.status, "True");
    assert.equal(conditionOf(api.get(ref("Notifier", "hook")), "Ready")!.status, "True");
    api.delete(ref("Notifier", "log"));
    await waitForCondition(api, ref("Notifier", "log", "team-b"), "Ready", { status: "True" });
  });
});
