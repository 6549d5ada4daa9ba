import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { after, before, it } from "node:test";
import type { KubeApiDouble } from "../support/kube-api/index.ts";
import { startOperatorProcess } from "../support/operator-process.ts";
import { waitFor } from "../support/wait.ts";
import { plugin, ref, startCluster, waitForCondition } from "./harness.ts";

let api: KubeApiDouble;
let kubeconfig: string;
const children: ChildProcess[] = [];

before(async () => {
  api = await startCluster();
  // Outside a Pod (no POD_NAMESPACE) the operator keeps its Lease in the context's namespace.
  kubeconfig = await api.writeKubeconfig(undefined, { namespace: "patchbay-system" });
});

after(async () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  await api?.close();
});

const startOperator = (env: Record<string, string>) =>
  startOperatorProcess(kubeconfig, { PATCHBAY_INGRESS_TOKENS: "secret-token", ...env }, children);

const lease = () =>
  api.get({
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    name: "patchbay-leader",
    namespace: "patchbay-system",
  })?.spec as { holderIdentity?: string } | undefined;

it("`patchbay operator` runs from KUBECONFIG, becomes ready, reconciles, and on SIGTERM releases the Lease and exits 0", async () => {
  const operator = await startOperator({ POD_NAMESPACE: "patchbay-system", POD_NAME: "cli-replica" });
  api.create(plugin("Notifier", "log", { type: "log" }));
  await waitForCondition(api, ref("Notifier", "log"), "Ready", { status: "True" });
  // The Pod name plus a random suffix: unique even where two processes share a name.
  assert.match(lease()?.holderIdentity ?? "", /^cli-replica_[0-9a-f-]{36}$/);

  assert.equal(await operator.stop(), 0, operator.stderr());
  assert.ok(!lease()?.holderIdentity, `the Lease is released: ${JSON.stringify(lease())}`);
});

it("run outside the cluster (no POD_NAMESPACE), it adds no sidecar to the in-cluster Deployment", async () => {
  const operator = await startOperator({ POD_NAME: "laptop" });
  const manager = ref("Deployment", "patchbay-controller-manager", "patchbay-system");
  const before = JSON.stringify(api.get(manager)!.spec);
  api.create(
    plugin(
      "ExecutorPlugin",
      "side",
      { prefixes: ["side"], runtime: { sidecar: { image: "ghcr.io/patchbay/patchbay:0.1.0", port: 7001 } } },
      "patchbay-system",
    ),
  );
  await waitForCondition(api, ref("ExecutorPlugin", "side", "patchbay-system"), "WorkloadAvailable", {
    status: "False",
    reason: "NoManagerDeployment",
  });
  assert.equal(JSON.stringify(api.get(manager)!.spec), before);
  // Nor does it dial 127.0.0.1:7001, where something else may be listening on this machine.
  const cr = await waitForCondition(api, ref("ExecutorPlugin", "side", "patchbay-system"), "Connected", {
    reason: "NoManagerDeployment",
  });
  assert.match(JSON.stringify(cr.status), /outside its Deployment/);
  assert.equal(await operator.stop(), 0, operator.stderr());
});

it("two operators on one host (no POD_NAME): exactly one becomes leader, and the other takes over after the leader's SIGKILL", async () => {
  const timings = {
    PATCHBAY_LEASE_DURATION_SECONDS: "2",
    PATCHBAY_RENEW_DEADLINE_SECONDS: "1.5",
    PATCHBAY_RETRY_PERIOD_SECONDS: "0.2",
  };
  const first = await startOperator(timings);
  await waitFor(() => lease()?.holderIdentity, { timeoutMs: 30_000, what: "a leader" });
  const second = await startOperator(timings);
  // Several retry periods: with the bare hostname both would have read the Lease as theirs by now.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  assert.deepEqual([first.becameLeader(), second.becameLeader()], [1, 0], first.stderr() + second.stderr());
  const firstIdentity = lease()!.holderIdentity!;
  assert.match(firstIdentity, /_[0-9a-f-]{36}$/);

  first.child.kill("SIGKILL");
  await first.exited;
  await waitFor(() => second.becameLeader() === 1, {
    timeoutMs: 10_000,
    what: "the second operator to lead",
  });
  const secondIdentity = lease()!.holderIdentity!;
  assert.notEqual(secondIdentity, firstIdentity);
  assert.equal(secondIdentity.split("_")[0], firstIdentity.split("_")[0], "both carry the same hostname");
  assert.equal(await second.stop(), 0, second.stderr());
});

for (const [variable, value, message] of [
  [
    "PATCHBAY_LEASE_DURATION_SECONDS",
    "soon",
    /PATCHBAY_LEASE_DURATION_SECONDS must be a positive number of seconds, not \\?"soon\\?"/,
  ],
  [
    "PATCHBAY_RECONCILE_WORKERS",
    "0",
    /PATCHBAY_RECONCILE_WORKERS must be a whole number from 1 to 64, not \\?"0\\?"/,
  ],
] as const) {
  it(`${variable}=${value} stops the start with a message naming it`, async () => {
    const { NODE_TEST_CONTEXT: _testContext, ...inherited } = process.env;
    const child = spawn(process.execPath, ["src/cli/main.ts", "operator"], {
      env: { ...inherited, KUBECONFIG: kubeconfig, PATCHBAY_HOST: "127.0.0.1", [variable]: value },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, "exit")) as [number | null];
    assert.notEqual(code, 0);
    assert.match(stderr, message);
  });
}
