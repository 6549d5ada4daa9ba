/**
 * The manifests through the REAL kubectl: `kubectl kustomize` renders the install and the samples, and
 * `kubectl apply --dry-run=client` accepts them against a discovery-only double (no cluster here).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kubectl, parseObjects, sampleFiles, readObjects, type K8sObject } from "./kubectl.ts";
import { startDiscoveryServer, type DiscoveryServer, type ServedResource } from "./discovery-server.ts";

const BUILT_IN: ServedResource[] = [
  { group: "", version: "v1", kind: "Namespace", plural: "namespaces", namespaced: false },
  { group: "", version: "v1", kind: "ServiceAccount", plural: "serviceaccounts", namespaced: true },
  { group: "", version: "v1", kind: "Service", plural: "services", namespaced: true },
  { group: "apps", version: "v1", kind: "Deployment", plural: "deployments", namespaced: true },
  {
    group: "policy",
    version: "v1",
    kind: "PodDisruptionBudget",
    plural: "poddisruptionbudgets",
    namespaced: true,
  },
  {
    group: "networking.k8s.io",
    version: "v1",
    kind: "NetworkPolicy",
    plural: "networkpolicies",
    namespaced: true,
  },
  ...["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"].map((kind) => ({
    group: "rbac.authorization.k8s.io",
    version: "v1",
    kind,
    plural: `${kind.toLowerCase()}s`,
    namespaced: !kind.startsWith("Cluster"),
  })),
  {
    group: "apiextensions.k8s.io",
    version: "v1",
    kind: "CustomResourceDefinition",
    plural: "customresourcedefinitions",
    namespaced: false,
  },
];

let install: K8sObject[];
let installText: string;

before(async () => {
  installText = (await kubectl(["kustomize", "."])).stdout;
  install = parseObjects(installText);
});

describe("kubectl kustomize", () => {
  it("renders the top-level kustomization: CRDs, RBAC, the manager and its Services", () => {
    const kinds = install.map((o) => `${o.kind}/${o.metadata.name}`);
    for (const expected of [
      "Namespace/patchbay-system",
      "CustomResourceDefinition/sourceplugins.patchbay.dev",
      "CustomResourceDefinition/executorplugins.patchbay.dev",
      "CustomResourceDefinition/notifiers.patchbay.dev",
      "ServiceAccount/patchbay-controller-manager",
      "ClusterRole/patchbay-manager-role",
      "ClusterRoleBinding/patchbay-manager-rolebinding",
      "Role/patchbay-leader-election-role",
      "Deployment/patchbay-controller-manager",
      "Service/patchbay-ingress",
      "Service/patchbay-metrics",
    ]) {
      assert.ok(kinds.includes(expected), `${expected} missing from: ${kinds.join(", ")}`);
    }
    for (const object of install) {
      const clusterScoped = ["Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"];
      if (!clusterScoped.includes(object.kind))
        assert.equal(object.metadata.namespace, "patchbay-system", object.kind);
    }
  });

  it("renders config/crd from the single copy in crds/", async () => {
    const fromConfig = parseObjects((await kubectl(["kustomize", "config/crd"])).stdout);
    const fromCrds = parseObjects((await kubectl(["kustomize", "crds"])).stdout);
    assert.equal(fromConfig.length, 4);
    assert.deepEqual(fromConfig, fromCrds);
  });

  it("renders config/samples, listing every sample file in the folder", async () => {
    const rendered = parseObjects((await kubectl(["kustomize", "config/samples"])).stdout);
    const inFolder = sampleFiles().flatMap((file) => readObjects(file));
    const key = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;
    assert.deepEqual(
      rendered.map(key).sort(),
      inFolder.map(key).sort(),
      "config/samples/Kustomization is out of date",
    );
    assert.ok(rendered.length >= 3);
  });

  it("fails with kustomize's error on a broken kustomization (the check is real)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "patchbay-kustomize-"));
    writeFileSync(join(dir, "kustomization.yaml"), "resources:\n  - missing.yaml\n");
    await assert.rejects(kubectl(["kustomize", dir]), (error: Error & { stderr: string }) => {
      assert.match(error.stderr, /missing\.yaml/);
      return true;
    });
  });
});

describe("kubectl apply --dry-run=client", () => {
  let server: DiscoveryServer;
  let dir: string;

  before(async () => {
    const crds = install.filter((o) => o.kind === "CustomResourceDefinition");
    const custom: ServedResource[] = crds.map((crd) => ({
      group: crd.spec.group,
      version: crd.spec.versions[0].name,
      kind: crd.spec.names.kind,
      plural: crd.spec.names.plural,
      namespaced: crd.spec.scope === "Namespaced",
    }));
    server = await startDiscoveryServer([...BUILT_IN, ...custom]);
    dir = mkdtempSync(join(tmpdir(), "patchbay-dry-run-"));
  });
  after(() => server.close());

  // Without a server, client dry-run cannot even map kinds to resources; --validate=false because the
  // double has no OpenAPI document (schema checks are in crds.test.ts and samples.test.ts).
  const dryRun = (args: string[]) =>
    kubectl(["apply", "--dry-run=client", "--validate=false", "-o", "name", ...args], {
      KUBECONFIG: server.kubeconfig,
      // A discovery cache of its own: kubectl caches per host:port for hours, and a port an earlier run
      // used may come round again, so the shared cache would spare the double's discovery.
      KUBECACHEDIR: join(dir, "kube-cache"),
    });

  it("accepts the whole install", async () => {
    const file = join(dir, "install.yaml");
    writeFileSync(file, installText);
    const { stdout } = await dryRun(["-f", file]);
    const names = stdout.trim().split("\n");
    assert.equal(names.length, install.length, stdout);
    assert.ok(names.includes("deployment.apps/patchbay-controller-manager"), stdout);
    assert.ok(
      names.includes("customresourcedefinition.apiextensions.k8s.io/sourceplugins.patchbay.dev"),
      stdout,
    );
    assert.ok(server.requests.includes("GET /apis"), "kubectl used the double's discovery");
  });

  it("accepts `kubectl apply -f config/samples/` (the folder itself, as the README says)", async () => {
    const { stdout } = await dryRun(["-f", "config/samples/"]);
    const names = stdout.trim().split("\n");
    assert.equal(names.length, sampleFiles().flatMap(readObjects).length, stdout);
    assert.ok(names.includes("sourceplugin.patchbay.dev/heartbeat"), stdout);
    assert.ok(names.includes("executorplugin.patchbay.dev/echo"), stdout);
    assert.ok(names.includes("notifier.patchbay.dev/log"), stdout);
  });

  it("accepts `kubectl apply -k .`", async () => {
    const { stdout } = await dryRun(["-k", "."]);
    assert.equal(stdout.trim().split("\n").length, install.length, stdout);
  });

  it("refuses a kind the cluster does not serve, naming it", async () => {
    const file = join(dir, "unknown.yaml");
    writeFileSync(file, "apiVersion: patchbay.dev/v1alpha1\nkind: Mystery\nmetadata:\n  name: x\n");
    await assert.rejects(dryRun(["-f", file]), (error: Error & { stderr: string }) => {
      assert.match(error.stderr, /Mystery/);
      return true;
    });
  });
});
