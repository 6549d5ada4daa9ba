/**
 * The kube-api double's wire protocol checked directly over HTTP: discovery, Status bodies,
 * watch edge cases, pagination, CRD lifecycle, namespaces, dry run, and the programmatic API.
 */

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { startKubeApiDouble } from "../support/kube-api/index.ts";
import type { KubeApiDouble, KubeObject } from "../support/kube-api/index.ts";

const crdPath = fileURLToPath(new URL("./fixtures/sourceplugins.crd.yaml", import.meta.url));
const spPath = (namespace: string) => `/apis/patchbay.dev/v1alpha1/namespaces/${namespace}/sourceplugins`;

let api: KubeApiDouble;
let namespaceCounter = 0;

before(async () => {
  api = await startKubeApiDouble({ crds: [crdPath], bookmarkIntervalMs: 50 });
});

after(() => api.close());

function freshNamespace(): string {
  const name = `p${++namespaceCounter}`;
  api.create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
  return name;
}

async function call(
  method: string,
  path: string,
  body?: unknown,
  contentType = "application/json",
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const init: RequestInit = { method, headers: { "Content-Type": contentType } };
  if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
  const response = await fetch(api.url + path, init);
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
    headers: response.headers,
  };
}

function sourcePlugin(name: string, labels: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: "patchbay.dev/v1alpha1",
    kind: "SourcePlugin",
    metadata: { name, labels },
    spec: { image: "example/x:1" },
  };
}

/** Reads a watch stream until `count` events arrived or the stream ended. */
async function watchEvents(path: string, count: number): Promise<{ type: string; object: KubeObject }[]> {
  const response = await fetch(api.url + path);
  assert.equal(response.status, 200);
  const events: { type: string; object: KubeObject }[] = [];
  const decoder = new TextDecoder();
  let buffered = "";
  const reader = response.body?.getReader();
  assert.ok(reader);
  while (events.length < count) {
    const { done, value } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0 && events.length < count) {
      events.push(JSON.parse(buffered.slice(0, newline)) as { type: string; object: KubeObject });
      buffered = buffered.slice(newline + 1);
    }
  }
  await reader.cancel();
  return events;
}

test("discovery documents describe built-ins and registered CRDs", async () => {
  const core = await call("GET", "/api");
  assert.deepEqual(core.body.versions, ["v1"]);
  const groups = (await call("GET", "/apis")).body.groups as {
    name: string;
    preferredVersion: { version: string };
  }[];
  assert.deepEqual(
    groups.map((g) => g.name),
    [
      "apiextensions.k8s.io",
      "apps",
      "coordination.k8s.io",
      "events.k8s.io",
      "networking.k8s.io",
      "patchbay.dev",
      "policy",
      "rbac.authorization.k8s.io",
    ],
  );
  const resources = (await call("GET", "/apis/patchbay.dev/v1alpha1")).body;
  assert.equal(resources.kind, "APIResourceList");
  assert.deepEqual(resources.resources, [
    {
      name: "sourceplugins",
      singularName: "sourceplugin",
      namespaced: true,
      kind: "SourcePlugin",
      verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
      shortNames: ["srcp"],
      categories: ["patchbay"],
    },
    {
      name: "sourceplugins/status",
      singularName: "",
      namespaced: true,
      kind: "SourcePlugin",
      verbs: ["get", "patch", "update"],
    },
  ]);
  const coreResources = (await call("GET", "/api/v1")).body.resources as { name: string }[];
  assert.deepEqual(
    coreResources.map((r) => r.name),
    [
      "configmaps",
      "events",
      "namespaces",
      "namespaces/status",
      "pods",
      "pods/status",
      "secrets",
      "serviceaccounts",
      "services",
      "services/status",
    ],
  );
  assert.equal((await call("GET", "/version")).body.gitVersion, "v1.32.0");
});

test("errors are Status objects like the real server's", async () => {
  const namespace = freshNamespace();
  assert.deepEqual((await call("GET", `${spPath(namespace)}/nope`)).body, {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: 'sourceplugins.patchbay.dev "nope" not found',
    reason: "NotFound",
    details: { name: "nope", group: "patchbay.dev", kind: "sourceplugins" },
    code: 404,
  });
  const unknown = await call("GET", "/apis/patchbay.dev/v1alpha1/namespaces/default/widgets");
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.message, "the server could not find the requested resource");
  assert.equal(
    (await call("POST", `${spPath(namespace)}/x`, sourcePlugin("x"))).body.reason,
    "MethodNotAllowed",
  );

  await call("POST", spPath(namespace), sourcePlugin("x"));
  const strategic = await call(
    "PATCH",
    `${spPath(namespace)}/x`,
    {},
    "application/strategic-merge-patch+json",
  );
  assert.equal(strategic.status, 415);
  assert.equal(
    strategic.body.message,
    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
  );
  const noKind = await call("POST", spPath(namespace), { metadata: { name: "y" } });
  assert.equal(noKind.status, 400);
  assert.match(String(noKind.body.message), /^Object 'Kind' is missing/);
  const badSelector = await call(
    "GET",
    `${spPath(namespace)}?labelSelector=${encodeURIComponent("a in (b")}`,
  );
  assert.equal(badSelector.status, 400);
  const wrongNamespace = await call("POST", spPath(namespace), {
    ...sourcePlugin("z"),
    metadata: { name: "z", namespace: "other" },
  });
  assert.equal(
    wrongNamespace.body.message,
    "the namespace of the provided object does not match the namespace sent on the request",
  );
  const badName = await call("POST", spPath(namespace), sourcePlugin("Not_Valid"));
  assert.equal(badName.status, 422);
  assert.match(
    String(badName.body.message),
    /^SourcePlugin.patchbay.dev "Not_Valid" is invalid: metadata.name: Invalid value/,
  );
});

test("watch: initial ADDED events, bookmarks, timeoutSeconds, and 410 for a compacted resourceVersion", async () => {
  const namespace = freshNamespace();
  await call("POST", spPath(namespace), sourcePlugin("a"));
  await call("POST", spPath(namespace), sourcePlugin("b"));
  const initial = await watchEvents(`${spPath(namespace)}?watch=true&allowWatchBookmarks=true`, 3);
  assert.deepEqual(
    initial.map((e) => `${e.type} ${e.object.metadata.name ?? ""}`),
    ["ADDED a", "ADDED b", "BOOKMARK "],
  );
  assert.equal(initial[2]?.object.metadata.resourceVersion, api.resourceVersion());

  const started = Date.now();
  const timedOut = await watchEvents(
    `${spPath(namespace)}?watch=true&resourceVersion=${api.resourceVersion()}&timeoutSeconds=1`,
    1,
  );
  assert.deepEqual(timedOut, []);
  assert.ok(Date.now() - started >= 900, "the stream stayed open until timeoutSeconds");

  const before = api.resourceVersion();
  await call(
    "PATCH",
    `${spPath(namespace)}/a`,
    { spec: { image: "example/x:2" } },
    "application/merge-patch+json",
  );
  const resumed = await watchEvents(`${spPath(namespace)}?watch=true&resourceVersion=${before}`, 1);
  assert.equal(resumed[0]?.type, "MODIFIED");
  api.compactHistory();
  const expired = await watchEvents(`${spPath(namespace)}?watch=true&resourceVersion=${before}`, 2);
  assert.equal(expired.length, 1, "one ERROR event, then the stream ends");
  assert.equal(expired[0]?.type, "ERROR");
  assert.equal((expired[0]?.object as unknown as { code: number }).code, 410);
});

test("lists paginate with limit and continue", async () => {
  const namespace = freshNamespace();
  for (const name of ["a", "b", "c"]) await call("POST", spPath(namespace), sourcePlugin(name));
  const first = await call("GET", `${spPath(namespace)}?limit=2`);
  const metadata = first.body.metadata as { continue: string; remainingItemCount: number };
  assert.deepEqual(
    (first.body.items as KubeObject[]).map((i) => i.metadata.name),
    ["a", "b"],
  );
  assert.equal(metadata.remainingItemCount, 1);
  const second = await call("GET", `${spPath(namespace)}?limit=2&continue=${metadata.continue}`);
  assert.deepEqual(
    (second.body.items as KubeObject[]).map((i) => i.metadata.name),
    ["c"],
  );
  assert.equal((second.body.metadata as { continue?: string }).continue, undefined);
});

test("a CRD created over HTTP is served at once; deleting it removes its resources", async () => {
  const crd = {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "notifiers.example.dev" },
    spec: {
      group: "example.dev",
      scope: "Cluster",
      names: { plural: "notifiers", singular: "notifier", kind: "Notifier" },
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
        },
      ],
    },
  };
  const created = await call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd);
  assert.equal(created.status, 201);
  const conditions = (created.body.status as { conditions: { type: string; status: string }[] }).conditions;
  assert.deepEqual(
    conditions.map((c) => `${c.type}=${c.status}`),
    ["NamesAccepted=True", "Established=True"],
  );
  const notifier = {
    apiVersion: "example.dev/v1",
    kind: "Notifier",
    metadata: { name: "slack" },
    spec: { anything: 1 },
  };
  assert.equal((await call("POST", "/apis/example.dev/v1/notifiers", notifier)).status, 201);
  assert.equal((await call("GET", "/apis/example.dev/v1/notifiers/slack")).body.kind, "Notifier");

  const invalidCrd = await call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", {
    ...crd,
    metadata: { name: "wrong.example.dev" },
  });
  assert.equal(invalidCrd.status, 422);

  await call("DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/notifiers.example.dev");
  assert.equal((await call("GET", "/apis/example.dev/v1/notifiers/slack")).status, 404);
  assert.equal((await call("GET", "/apis/example.dev/v1")).status, 404);
});

test("deleting a namespace deletes its contents, waiting for finalizers", async () => {
  const namespace = freshNamespace();
  await call("POST", spPath(namespace), sourcePlugin("plain"));
  await call("POST", spPath(namespace), {
    ...sourcePlugin("held"),
    metadata: { name: "held", finalizers: ["x/y"] },
  });
  const deleting = await call("DELETE", `/api/v1/namespaces/${namespace}`);
  assert.equal((deleting.body.status as { phase: string }).phase, "Terminating");
  assert.equal((await call("GET", `${spPath(namespace)}/plain`)).status, 404);
  const refused = await call("POST", spPath(namespace), sourcePlugin("late"));
  assert.equal(refused.status, 403);

  await call(
    "PATCH",
    `${spPath(namespace)}/held`,
    { metadata: { finalizers: null } },
    "application/merge-patch+json",
  );
  assert.equal((await call("GET", `/api/v1/namespaces/${namespace}`)).status, 404);
});

test("dry run, orphaning, delete preconditions and injected 429s", async () => {
  const namespace = freshNamespace();
  const dryRun = await call("POST", `${spPath(namespace)}?dryRun=All`, sourcePlugin("dry"));
  assert.equal(dryRun.status, 200);
  assert.equal((await call("GET", `${spPath(namespace)}/dry`)).status, 404);

  const owner = api.create({ ...sourcePlugin("owner"), metadata: { name: "owner", namespace } });
  api.create({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: "child",
      namespace,
      ownerReferences: [
        {
          apiVersion: "patchbay.dev/v1alpha1",
          kind: "SourcePlugin",
          name: "owner",
          uid: owner.metadata.uid ?? "",
        },
      ],
    },
  });
  const stale = await call("DELETE", `${spPath(namespace)}/owner`, {
    preconditions: { resourceVersion: "1" },
  });
  assert.equal(stale.body.reason, "Conflict");
  await call("DELETE", `${spPath(namespace)}/owner`, { propagationPolicy: "Orphan" });
  const child = api.get({ apiVersion: "v1", kind: "ConfigMap", namespace, name: "child" });
  assert.equal(child?.metadata.ownerReferences, undefined, "orphaned, not deleted");

  api.failNext({ pathPattern: spPath(namespace), status: 429, retryAfterSeconds: 2 });
  const throttled = await call("GET", spPath(namespace));
  assert.equal(throttled.status, 429);
  assert.equal(throttled.headers.get("retry-after"), "2");
  assert.equal(throttled.body.reason, "TooManyRequests");
});

test("the programmatic API shares the HTTP semantics", async () => {
  const namespace = freshNamespace();
  const ref = { apiVersion: "patchbay.dev/v1alpha1", kind: "SourcePlugin", namespace, name: "seeded" };
  const seeded = api.create({
    ...sourcePlugin("seeded", { tier: "a" }),
    metadata: { name: "seeded", namespace, labels: { tier: "a" } },
    status: { observedGeneration: 1 },
  });
  assert.deepEqual(seeded.status, { observedGeneration: 1 }, "seeding keeps status");
  assert.equal(
    api.list({ apiVersion: ref.apiVersion, kind: ref.kind, namespace, labelSelector: "tier=a" }).length,
    1,
  );

  const updated = api.update({
    ...seeded,
    spec: { image: "example/x:2" },
    status: { observedGeneration: 9 },
  });
  assert.equal(updated.metadata.generation, 2);
  assert.deepEqual(updated.status, { observedGeneration: 1 }, "update ignores status");
  const withStatus = api.updateStatus({ ...updated, status: { observedGeneration: 2 } });
  assert.deepEqual(withStatus.status, { observedGeneration: 2 });
  assert.throws(() => api.update(seeded), { name: "ApiError", message: /the object has been modified/ });

  api.patch(ref, [{ op: "add", path: "/metadata/finalizers", value: ["a/b"] }], "json");
  const marked = api.delete(ref);
  assert.ok(marked.metadata.deletionTimestamp);
  api.patch(ref, { metadata: { finalizers: [] } });
  assert.equal(api.get(ref), undefined);
});
