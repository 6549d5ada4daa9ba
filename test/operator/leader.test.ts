import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import type { RunningOperator } from "../../src/operator/index.ts";
import type { KubeApiDouble } from "../support/kube-api/index.ts";
import { startPluginProcess, type StartedPlugin } from "../support/plugin-process.ts";
import { waitFor } from "../support/wait.ts";
import { conditionOf, plugin, ref, runOperator, startCluster, waitForCondition } from "./harness.ts";

const LEASE_MS = 2_000;

let api: KubeApiDouble;
let echo: StartedPlugin;
const operators: RunningOperator[] = [];

before(async () => {
  [api, echo] = await Promise.all([startCluster(), startPluginProcess("plugins/echo/main.ts")]);
});

after(async () => {
  await Promise.all(operators.map((operator) => operator.stop(500)));
  await echo?.stop();
  await api?.close();
});

/** Reconciles this replica has run, read from its own /metrics over HTTP. */
async function reconciles(operator: RunningOperator): Promise<number> {
  const text = await (await fetch(`${operator.dataPlane.managementUrl}/metrics`)).text();
  const lines = text.split("\n").filter((line) => line.startsWith("controller_runtime_reconcile_total{"));
  assert.ok(lines.length > 0, "controller_runtime_reconcile_total is exported");
  return lines.reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}

it("of two operators exactly one reconciles and talks to plugins; the other takes over within the lease duration", async () => {
  const a = await runOperator(api, "replica-a", new Map(), { leaseDurationMs: LEASE_MS });
  operators.push(a);
  await waitFor(() => a.isLeader, { what: "replica-a to lead" });
  const b = await runOperator(api, "replica-b", new Map(), { leaseDurationMs: LEASE_MS });
  operators.push(b);

  api.create(
    plugin("ExecutorPlugin", "echo", {
      prefixes: ["echo"],
      runtime: { external: { address: echo.address } },
    }),
  );
  await waitForCondition(api, ref("ExecutorPlugin", "echo"), "Ready", { status: "True" });
  api.patch(ref("ExecutorPlugin", "echo"), { spec: { aliases: { e: "echo" } } });
  await waitFor(
    () => conditionOf(api.get(ref("ExecutorPlugin", "echo")), "Ready")?.observedGeneration === 2,
    {
      what: "generation 2 observed",
    },
  );
  // Several lease renewals later, the follower still has not reconciled or connected anything.
  await new Promise((resolve) => setTimeout(resolve, LEASE_MS));
  assert.equal(a.isLeader, true);
  assert.equal(b.isLeader, false);
  assert.ok((await reconciles(a)) > 0);
  assert.equal(await reconciles(b), 0, "the follower reconciled");
  assert.equal(a.dataPlane.hub.state("executor", "echo")?.phase, "Ready");
  assert.deepEqual(b.dataPlane.hub.states(), [], "the follower connected to plugins");
  const lease = api.get({
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    name: "patchbay-leader",
    namespace: "patchbay-system",
  });
  assert.equal((lease?.spec as { holderIdentity?: string }).holderIdentity, "replica-a");
  // Every replica serves the ingress.
  assert.equal((await fetch(`${b.dataPlane.managementUrl}/healthz`)).status, 200);

  const stoppedAt = Date.now();
  await a.stop(500);
  assert.deepEqual(a.dataPlane.hub.states(), [], "the old leader let go of its plugins");
  await waitFor(() => b.isLeader, { timeoutMs: LEASE_MS * 2, what: "replica-b to take over" });
  assert.ok(Date.now() - stoppedAt <= LEASE_MS + 1_000, `took ${Date.now() - stoppedAt} ms`);
  await waitFor(() => b.dataPlane.hub.state("executor", "echo")?.phase === "Ready", {
    what: "replica-b connected",
  });

  // The new leader reconciles changes.
  api.patch(ref("ExecutorPlugin", "echo"), { spec: { prefixes: ["echo", "say"] } });
  await waitFor(
    () => conditionOf(api.get(ref("ExecutorPlugin", "echo")), "Ready")?.observedGeneration === 3,
    {
      what: "generation 3 observed by the new leader",
    },
  );
  assert.ok((await reconciles(b)) > 0);
});
