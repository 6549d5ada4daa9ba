import assert from "node:assert/strict";
import { after, it } from "node:test";
import { startOperator } from "../../src/operator/index.ts";
import { startKubeApiDouble, type KubeApiDouble } from "../support/kube-api/index.ts";
import { waitFor } from "../support/wait.ts";
import { quietLog } from "./harness.ts";

let api: KubeApiDouble | undefined;
after(() => api?.close());

it("stops promptly when its informers never sync (the CRDs are not installed), and says why it is not ready", async () => {
  api = await startKubeApiDouble({ crds: [], namespaces: ["patchbay-system"] });
  const operator = await startOperator({
    kubeConfig: api.kubeConfig(),
    podNamespace: "patchbay-system",
    identity: "lonely",
    ingress: { host: "127.0.0.1", port: 0 },
    management: { host: "127.0.0.1", port: 0 },
    leaderElection: { leaseDurationMs: 2_000, renewDeadlineMs: 1_200, retryPeriodMs: 200 },
    log: quietLog(),
  });
  await waitFor(() => operator.isLeader, { what: "leadership" });
  const readyz = await fetch(`${operator.dataPlane.managementUrl}/readyz`);
  assert.equal(readyz.status, 503);
  assert.match(await readyz.text(), /informers not synced/);
  const started = Date.now();
  await operator.stop(500);
  assert.ok(Date.now() - started < 3_000, `stop took ${Date.now() - started} ms`);
});
