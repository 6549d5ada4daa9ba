/** The kube-api double against the real kubectl binary: apply, get (tables), wait, patch, delete. */

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startKubeApiDouble } from "../support/kube-api/index.ts";
import type { KubeApiDouble } from "../support/kube-api/index.ts";

const crdPath = fileURLToPath(new URL("./fixtures/sourceplugins.crd.yaml", import.meta.url));

let api: KubeApiDouble;
let kubeconfig: string;
let cacheDir: string;

before(async () => {
  api = await startKubeApiDouble();
  kubeconfig = await api.writeKubeconfig();
  cacheDir = await mkdtemp(join(tmpdir(), "kubectl-cache-"));
});

after(async () => {
  await api.close();
  await rm(cacheDir, { recursive: true, force: true });
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real kubectl against the double; never throws, so tests can assert on failures too. */
function kubectl(args: string[], input?: string): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(
      "kubectl",
      ["--kubeconfig", kubeconfig, "--cache-dir", cacheDir, ...args],
      { timeout: 15_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

async function ok(args: string[], input?: string): Promise<string> {
  const result = await kubectl(args, input);
  assert.equal(result.code, 0, `kubectl ${args.join(" ")} failed: ${result.stderr}`);
  return result.stdout;
}

function sourcePluginYaml(name: string, image: string, extra = ""): string {
  return `apiVersion: patchbay.dev/v1alpha1
kind: SourcePlugin
metadata:
  name: ${name}
  namespace: default${extra}
spec:
  image: ${image}
`;
}

const readyStatus = {
  conditions: [
    {
      type: "Ready",
      status: "True",
      reason: "Serving",
      message: "ok",
      lastTransitionTime: "2025-01-01T00:00:00Z",
    },
  ],
};

test("kubectl apply -f a CRD, then get the CRD and its (still empty) resource", async () => {
  assert.match(
    await ok(["apply", "-f", crdPath]),
    /customresourcedefinition.apiextensions.k8s.io\/sourceplugins.patchbay.dev created/,
  );
  const crds = await ok(["get", "customresourcedefinitions"]);
  assert.match(crds, /^NAME\s+CREATED AT\n/);
  assert.match(crds, /^sourceplugins\.patchbay\.dev\s+\d{4}-\d\d-\d\dT/m);
  const empty = await kubectl(["get", "sourceplugins"]);
  assert.equal(empty.code, 0);
  assert.match(empty.stderr, /No resources found in default namespace/);
  const established = await ok([
    "get",
    "crd",
    "sourceplugins.patchbay.dev",
    "-o",
    "jsonpath={.status.conditions[?(@.type=='Established')].status}",
  ]);
  assert.equal(established, "True");
});

test("kubectl apply, get with printer columns, short name, category, wait and re-apply", async () => {
  await api.registerCrd(crdPath);
  assert.match(
    await ok(["apply", "-f", "-"], sourcePluginYaml("heartbeat", "example/heartbeat:1")),
    /sourceplugin.patchbay.dev\/heartbeat created/,
  );

  const table = await ok(["get", "sourceplugins"]);
  assert.match(table, /^NAME\s+READY\s+MODE\s+AGE\n/);
  assert.match(table, /^heartbeat {11}Pod\s+\d+s\n/m, "an empty Ready cell until status says otherwise");

  const current = api.get({ apiVersion: "patchbay.dev/v1alpha1", kind: "SourcePlugin", name: "heartbeat" });
  assert.ok(current);
  api.updateStatus({ ...current, status: readyStatus });
  assert.match(await ok(["get", "srcp", "heartbeat", "--no-headers"]), /^heartbeat\s+True\s+Pod\s+/);
  assert.match(await ok(["get", "patchbay"]), /^heartbeat\s+True\s+Pod/m, "the patchbay category");
  assert.match(
    await ok(["wait", "--for=condition=Ready", "sourceplugin/heartbeat", "--timeout=5s"]),
    /condition met/,
  );

  assert.match(
    await ok(["apply", "-f", "-"], sourcePluginYaml("heartbeat", "example/heartbeat:2")),
    /configured/,
  );
  const applied = JSON.parse(await ok(["get", "sourceplugin", "heartbeat", "-o", "json"])) as {
    metadata: { generation: number };
    spec: { image: string };
    status: unknown;
  };
  assert.equal(applied.spec.image, "example/heartbeat:2");
  assert.equal(applied.metadata.generation, 2);
  assert.deepEqual(applied.status, readyStatus, "client-side apply leaves status alone");

  assert.match(
    await ok(["patch", "sourceplugin", "heartbeat", "--type=merge", "-p", '{"spec":{"mode":"Sidecar"}}']),
    /patched/,
  );
  assert.match(
    await ok(
      ["apply", "--server-side", "--force-conflicts", "-f", "-"],
      sourcePluginYaml("heartbeat", "example/heartbeat:3"),
    ),
    /serverside-applied/,
  );
  assert.equal(await ok(["get", "srcp", "heartbeat", "-o", "jsonpath={.spec.image}"]), "example/heartbeat:3");

  const strategic = await kubectl(["patch", "sourceplugin", "heartbeat", "-p", '{"spec":{"mode":"Pod"}}']);
  assert.notEqual(strategic.code, 0);
  assert.match(strategic.stderr, /application\/strategic-merge-patch\+json is not supported/);

  assert.match(
    await ok(["explain", "sourceplugins.spec"]),
    /mode\s+<string>\n\s+enum: Pod, Sidecar, External, Process/,
  );

  const invalid = await kubectl(["apply", "-f", "-"], sourcePluginYaml("broken", '""'));
  assert.notEqual(invalid.code, 0);
  assert.match(invalid.stderr, /The SourcePlugin "broken" is invalid: spec.image: Invalid value: ""/);
});

test("kubectl get pods -n x -o json, label selectors and describe", async () => {
  api.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "x" } });
  for (const [name, app] of [
    ["web-1", "web"],
    ["web-2", "web"],
    ["db-1", "db"],
  ] as const) {
    api.create({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: "x", labels: { app } },
      spec: { containers: [{ name: "main", image: "nginx" }] },
      status: { phase: "Running", containerStatuses: [{ name: "main", ready: true, restartCount: 2 }] },
    });
  }
  const list = JSON.parse(await ok(["get", "pods", "-n", "x", "-o", "json"])) as {
    kind: string;
    items: { metadata: { name: string }; status: { phase: string } }[];
  };
  assert.equal(list.kind, "List");
  assert.deepEqual(
    list.items.map((p) => `${p.metadata.name}:${p.status.phase}`),
    ["db-1:Running", "web-1:Running", "web-2:Running"],
  );
  assert.equal(await ok(["get", "pods", "-n", "x", "-l", "app=web", "-o", "name"]), "pod/web-1\npod/web-2\n");
  assert.equal(await ok(["get", "pods", "-n", "x", "-l", "app notin (web)", "-o", "name"]), "pod/db-1\n");
  assert.match(await ok(["get", "pods", "-n", "x"]), /^web-1\s+1\/1\s+Running\s+2\s+\d+s$/m);
  assert.match(await ok(["describe", "pod", "web-1", "-n", "x"]), /Status:\s+Running/);
});

test("kubectl delete waits for finalizers; --wait=false leaves a deletionTimestamp", async () => {
  await api.registerCrd(crdPath);
  const finalized = sourcePluginYaml("held", "example/held:1", "\n  finalizers: [patchbay.dev/cleanup]");
  await ok(["apply", "-f", "-"], finalized);
  assert.match(
    await ok(["delete", "sourceplugin", "held", "--wait=false"]),
    /sourceplugin.patchbay.dev "held" deleted/,
  );
  const held = api.get({ apiVersion: "patchbay.dev/v1alpha1", kind: "SourcePlugin", name: "held" });
  assert.ok(held?.metadata.deletionTimestamp);

  const waiting = kubectl(["delete", "sourceplugin", "held", "--timeout=10s"]);
  await api.waitFor(() => api.openWatches() > 0, { what: "kubectl delete to watch the object" });
  api.patch(
    { apiVersion: "patchbay.dev/v1alpha1", kind: "SourcePlugin", name: "held" },
    { metadata: { finalizers: null } },
  );
  const result = await waiting;
  assert.equal(result.code, 0, result.stderr);

  await ok(["apply", "-f", "-"], sourcePluginYaml("plain", "example/plain:1"));
  await ok(["delete", "-f", "-"], sourcePluginYaml("plain", "example/plain:1"));
  assert.equal(
    api.get({ apiVersion: "patchbay.dev/v1alpha1", kind: "SourcePlugin", name: "plain" }),
    undefined,
  );
  const missing = await kubectl(["delete", "sourceplugin", "plain"]);
  assert.match(
    missing.stderr,
    /Error from server \(NotFound\): sourceplugins.patchbay.dev "plain" not found/,
  );
});

test("known limitation: kubectl's typed create commands send protobuf, which the double refuses (415)", async () => {
  const result = await kubectl(["create", "namespace", "typed"]);
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /UnsupportedMediaType/);
  // The same object from a manifest goes through JSON and works.
  assert.match(
    await ok(["create", "-f", "-"], "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: typed\n"),
    /namespace\/typed created/,
  );
});
