import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { Cluster, NotLeadingError } from "../../src/operator/index.ts";
import { startKubeApiDouble, type KubeApiDouble } from "../support/kube-api/index.ts";

let api: KubeApiDouble;

before(async () => {
  api = await startKubeApiDouble({ namespaces: ["team-a"] });
});

after(async () => {
  await api?.close();
});

const account = (name: string) => ({
  apiVersion: "v1",
  kind: "ServiceAccount",
  metadata: { name, namespace: "team-a" },
});

it("sends no write once mayWrite says this replica no longer leads, and reads on", async () => {
  let leading = true;
  const cluster = new Cluster(api.kubeConfig(), { mayWrite: () => leading });
  await cluster.create("ServiceAccount", account("while-leading"));
  assert.ok(
    api.get({ apiVersion: "v1", kind: "ServiceAccount", name: "while-leading", namespace: "team-a" }),
  );

  api.create({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "readable", namespace: "team-a" },
    data: { token: "dG9rZW4=" },
  });
  leading = false;
  api.clearRequests();
  await assert.rejects(cluster.create("ServiceAccount", account("after")), NotLeadingError);
  await assert.rejects(cluster.delete("ServiceAccount", "team-a", "while-leading"), {
    message: "not leading any more: delete ServiceAccount not sent",
  });
  await assert.rejects(cluster.patchStatus("sourceplugins", "team-a", "x", {}), NotLeadingError);
  await assert.rejects(cluster.update("ServiceAccount", account("while-leading")), NotLeadingError);
  await assert.rejects(cluster.jsonPatchDeployment("team-a", "manager", []), NotLeadingError);
  await assert.rejects(
    cluster.patchFinalizers("sourceplugins", "team-a", "x", [], undefined),
    NotLeadingError,
  );
  assert.deepEqual(
    api.requests.filter((request) => request.method !== "GET"),
    [],
    "no write reached the API server",
  );
  assert.ok(await cluster.readSecret("team-a", "readable"), "reads are not fenced");
});
