/**
 * The operator at rest costs the API server nothing but its watches and the Lease: reconciles read the
 * workloads from informers, their own status writes do not trigger another reconcile, and a plugin that
 * cannot be reached (retrying in the hub) causes no status churn. An owned object deleted by hand comes
 * back from its owner's reconcile, triggered by the informer's delete event — not from a poll.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { RunningOperator } from "../../src/operator/index.ts";
import type { KubeApiDouble } from "../support/kube-api/index.ts";
import { waitFor } from "../support/wait.ts";
import { conditionOf, plugin, ref, runOperator, startCluster } from "./harness.ts";

const POD_PLUGINS = 20;
const UNREACHABLE_PLUGINS = 5;

/** Requests other than watches and the Lease: what a controller at rest must not send. */
function restlessRequests(api: KubeApiDouble) {
  return api.requests
    .filter((request) => !request.watch && !request.path.includes("/leases"))
    .map((request) => `${request.method} ${request.path}`);
}

describe("the operator at rest", () => {
  let api: KubeApiDouble;
  let operator: RunningOperator;

  before(async () => {
    api = await startCluster();
    operator = await runOperator(api, "at-rest", new Map());
    await waitFor(() => operator.isLeader, { what: "leadership" });
    for (let i = 0; i < POD_PLUGINS; i++) {
      api.create(
        plugin("SourcePlugin", `beat-${i}`, {
          runtime: { pod: { image: "ghcr.io/patchbay/patchbay:0.1.0", args: ["plugins/heartbeat/main.js"] } },
        }),
      );
    }
    // Nothing listens on port 1: the hub retries these with backoff for as long as the test runs.
    for (let i = 0; i < UNREACHABLE_PLUGINS; i++) {
      api.create(
        plugin("ExecutorPlugin", `gone-${i}`, {
          prefixes: [`gone${i}`],
          runtime: { external: { address: "127.0.0.1:1" } },
        }),
      );
    }
    await waitFor(
      () => {
        const all = [
          ...api.list({ apiVersion: "patchbay.dev/v1alpha1", kind: "SourcePlugin", namespace: "team-a" }),
          ...api.list({ apiVersion: "patchbay.dev/v1alpha1", kind: "ExecutorPlugin", namespace: "team-a" }),
        ];
        return (
          all.length === POD_PLUGINS + UNREACHABLE_PLUGINS &&
          all.every((object) => {
            const workload = conditionOf(object, "WorkloadAvailable");
            const connected = conditionOf(object, "Connected");
            const settled =
              object.kind === "SourcePlugin"
                ? connected?.reason === "AwaitingWorkload"
                : connected?.status === "False";
            return workload?.observedGeneration === object.metadata.generation && settled;
          })
        );
      },
      { timeoutMs: 30_000, what: "every plugin reconciled" },
    );
  });

  after(async () => {
    await operator?.stop(500);
    await api?.close();
  });

  it("sends no request but watches and the Lease while nothing changes, unreachable plugins included", async () => {
    // Let the last writes' own watch events arrive before the window opens.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    api.clearRequests();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    assert.deepEqual(restlessRequests(api), []);
  });

  it("brings back a Deployment deleted by hand from the delete event, reading nothing", async () => {
    const target = ref("Deployment", "patchbay-source-beat-3");
    const before = api.get(target)!;
    api.clearRequests();
    api.delete(target);
    const recreated = await waitFor(
      () => {
        const now = api.get(target);
        return now && now.metadata.uid !== before.metadata.uid ? now : undefined;
      },
      { timeoutMs: 5_000, what: "the Deployment to be created again" },
    );
    assert.equal(recreated.metadata.ownerReferences?.[0]?.name, "beat-3");
    // The create and its Events (new, or counted up), and nothing else: no read, no rewrite of the
    // Service or NetworkPolicy beside it, no status write (the status does not change).
    const requests = restlessRequests(api);
    assert.deepEqual(
      requests.filter((request) => !/^(POST|PATCH) \/api\/v1\/namespaces\/team-a\/events\b/.test(request)),
      ["POST /apis/apps/v1/namespaces/team-a/deployments"],
    );
  });
});
