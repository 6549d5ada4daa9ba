/**
 * The kube-api double against the real @kubernetes/client-node 2.x: typed APIs, custom objects,
 * patch content types, status subresource, finalizers, garbage collection, selectors, Watch and
 * informers surviving dropped watches and 410 Gone.
 */

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  ApiException,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  KubernetesObjectApi,
  PatchStrategy,
  Watch,
  makeInformer,
  setHeaderOptions,
} from "@kubernetes/client-node";
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import { startKubeApiDouble } from "../support/kube-api/index.ts";
import type { KubeApiDouble, KubeObject, Status } from "../support/kube-api/index.ts";

const crdPath = fileURLToPath(new URL("./fixtures/sourceplugins.crd.yaml", import.meta.url));
const sp = { group: "patchbay.dev", version: "v1alpha1", plural: "sourceplugins" };
const spApiVersion = "patchbay.dev/v1alpha1";

let api: KubeApiDouble;
let kc: KubeConfig;
let core: CoreV1Api;
let apps: AppsV1Api;
let custom: CustomObjectsApi;
let namespaceCounter = 0;

before(async () => {
  api = await startKubeApiDouble({ crds: [crdPath], bookmarkIntervalMs: 100 });
  kc = api.kubeConfig();
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
});

after(() => api.close());

/** A fresh namespace per test keeps tests independent of each other's objects. */
function freshNamespace(): string {
  const name = `t${++namespaceCounter}`;
  api.create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
  return name;
}

/** The Status body of a failed client-node call. */
async function failureOf(call: Promise<unknown>): Promise<Status> {
  try {
    await call;
  } catch (error) {
    if (error instanceof ApiException) return JSON.parse(error.body as string) as Status;
    throw error;
  }
  return assert.fail("expected the call to fail");
}

function sourcePlugin(
  namespace: string,
  name: string,
  spec: Record<string, unknown> = { image: "example/heartbeat:1" },
) {
  return { apiVersion: spApiVersion, kind: "SourcePlugin", metadata: { name, namespace }, spec };
}

function createSourcePlugin(
  namespace: string,
  name: string,
  spec?: Record<string, unknown>,
): Promise<KubeObject> {
  return custom.createNamespacedCustomObject({ ...sp, namespace, body: sourcePlugin(namespace, name, spec) });
}

const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

test("CoreV1Api create, get, list and replace; a stale resourceVersion is a 409 Conflict", async () => {
  const namespace = freshNamespace();
  const created = await core.createNamespacedConfigMap({
    namespace,
    body: { metadata: { name: "settings", labels: { app: "patchbay" } }, data: { a: "1" } },
  });
  assert.equal(created.metadata?.namespace, namespace);
  assert.match(created.metadata?.uid ?? "", /^[0-9a-f-]{36}$/);
  assert.ok(created.metadata?.creationTimestamp instanceof Date);

  const fetched = await core.readNamespacedConfigMap({ name: "settings", namespace });
  assert.deepEqual(fetched.data, { a: "1" });
  const list = await core.listNamespacedConfigMap({ namespace });
  assert.deepEqual(
    list.items.map((c) => c.metadata?.name),
    ["settings"],
  );
  assert.ok(Number(list.metadata?.resourceVersion) >= Number(created.metadata?.resourceVersion));

  const updated = await core.replaceNamespacedConfigMap({
    name: "settings",
    namespace,
    body: { ...fetched, data: { a: "2" } },
  });
  assert.ok(Number(updated.metadata?.resourceVersion) > Number(fetched.metadata?.resourceVersion));

  const stale = await failureOf(
    core.replaceNamespacedConfigMap({ name: "settings", namespace, body: { ...fetched, data: { a: "3" } } }),
  );
  assert.deepEqual(stale, {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message:
      'Operation cannot be fulfilled on configmaps "settings": the object has been modified; please apply your changes to the latest version and try again',
    reason: "Conflict",
    details: { name: "settings", kind: "configmaps" },
    code: 409,
  });

  const duplicate = await failureOf(
    core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "settings" } } }),
  );
  assert.equal(duplicate.reason, "AlreadyExists");
  assert.equal(duplicate.code, 409);
  const missing = await failureOf(core.readNamespacedConfigMap({ name: "nope", namespace }));
  assert.equal(missing.message, 'configmaps "nope" not found');
  assert.equal(missing.code, 404);

  const generated = await core.createNamespacedSecret({
    namespace,
    body: { metadata: { generateName: "token-" }, stringData: { password: "hunter2" } },
  });
  assert.match(generated.metadata?.name ?? "", /^token-[a-z0-9]{5}$/);
  assert.deepEqual(generated.data, { password: Buffer.from("hunter2").toString("base64") });
  assert.equal(generated.type, "Opaque");

  const nowhere = await failureOf(
    core.createNamespacedConfigMap({ namespace: "missing", body: { metadata: { name: "x" } } }),
  );
  assert.equal(nowhere.message, 'namespaces "missing" not found');
});

test("custom resources: defaults, generation, merge and JSON patch, 415 for strategic merge", async () => {
  const namespace = freshNamespace();
  const created = await createSourcePlugin(namespace, "heartbeat");
  assert.equal(created.metadata.generation, 1);
  assert.equal((created.spec as { mode: string }).mode, "Pod", "schema default applied");

  const merged = await custom.patchNamespacedCustomObject(
    { ...sp, namespace, name: "heartbeat", body: { spec: { mode: "Sidecar" } } },
    mergePatch,
  );
  assert.equal(merged.spec.mode, "Sidecar");
  assert.equal(merged.metadata.generation, 2);

  // With no middleware, client-node's CustomObjectsApi sends application/json-patch+json.
  const patched = await custom.patchNamespacedCustomObject({
    ...sp,
    namespace,
    name: "heartbeat",
    body: [
      { op: "test", path: "/spec/mode", value: "Sidecar" },
      { op: "replace", path: "/spec/image", value: "example/heartbeat:2" },
    ],
  });
  assert.equal(patched.spec.image, "example/heartbeat:2");
  assert.equal(patched.metadata.generation, 3);

  const labelsOnly = await custom.patchNamespacedCustomObject(
    { ...sp, namespace, name: "heartbeat", body: { metadata: { labels: { team: "a" } } } },
    mergePatch,
  );
  assert.equal(labelsOnly.metadata.generation, 3, "metadata changes do not bump generation");

  const contentTypes = api.requests.filter((r) => r.method === "PATCH").map((r) => r.contentType);
  assert.deepEqual(contentTypes.slice(-3), [
    PatchStrategy.MergePatch,
    PatchStrategy.JsonPatch,
    PatchStrategy.MergePatch,
  ]);

  const strategic = await failureOf(
    custom.patchNamespacedCustomObject(
      { ...sp, namespace, name: "heartbeat", body: { spec: { mode: "Pod" } } },
      setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
    ),
  );
  assert.equal(strategic.code, 415);
  assert.equal(strategic.reason, "UnsupportedMediaType");

  const failedTest = await failureOf(
    custom.patchNamespacedCustomObject({
      ...sp,
      namespace,
      name: "heartbeat",
      body: [{ op: "test", path: "/spec/mode", value: "Pod" }],
    }),
  );
  assert.equal(failedTest.code, 422);

  const invalid = await failureOf(createSourcePlugin(namespace, "broken", { mode: "Teleport", replicas: 0 }));
  assert.equal(invalid.code, 422);
  assert.equal(invalid.reason, "Invalid");
  assert.deepEqual(
    invalid.details?.causes?.map((c) => c.field),
    ["spec.mode", "spec.replicas", "spec.image"],
  );
});

test("status subresource: /status changes only status, the main endpoint ignores status", async () => {
  const namespace = freshNamespace();
  const created = await createSourcePlugin(namespace, "heartbeat");
  const ready = {
    type: "Ready",
    status: "True",
    reason: "Serving",
    message: "ok",
    lastTransitionTime: "2025-01-01T00:00:00Z",
  };

  const withStatus = await custom.replaceNamespacedCustomObjectStatus({
    ...sp,
    namespace,
    name: "heartbeat",
    body: {
      ...created,
      spec: { image: "ignored:1" },
      status: { observedGeneration: 1, conditions: [ready] },
    },
  });
  assert.deepEqual(withStatus.status.conditions, [ready]);
  assert.equal(withStatus.spec.image, "example/heartbeat:1", "spec changes through /status are ignored");
  assert.equal(withStatus.metadata.generation, 1);

  const mainEndpoint = await custom.replaceNamespacedCustomObject({
    ...sp,
    namespace,
    name: "heartbeat",
    body: {
      ...withStatus,
      spec: { ...withStatus.spec, image: "example/heartbeat:2" },
      status: { conditions: [] },
    },
  });
  assert.deepEqual(
    mainEndpoint.status.conditions,
    [ready],
    "status changes through the main endpoint are ignored",
  );
  assert.equal(mainEndpoint.metadata.generation, 2);

  const patchedStatus = await custom.patchNamespacedCustomObjectStatus(
    { ...sp, namespace, name: "heartbeat", body: { status: { observedGeneration: 2, unknownField: true } } },
    mergePatch,
  );
  assert.equal(patchedStatus.status.observedGeneration, 2);
  assert.equal(patchedStatus.status.unknownField, undefined, "fields outside the schema are pruned");

  const unchanged = await custom.patchNamespacedCustomObjectStatus(
    { ...sp, namespace, name: "heartbeat", body: { status: { observedGeneration: 2 } } },
    mergePatch,
  );
  assert.equal(
    unchanged.metadata.resourceVersion,
    patchedStatus.metadata.resourceVersion,
    "no-op writes keep the resourceVersion",
  );

  const staleStatus = await failureOf(
    custom.replaceNamespacedCustomObjectStatus({ ...sp, namespace, name: "heartbeat", body: withStatus }),
  );
  assert.equal(staleStatus.reason, "Conflict");
});

test("finalizers hold a deleted object with a deletionTimestamp until they are removed", async () => {
  const namespace = freshNamespace();
  await custom.createNamespacedCustomObject({
    ...sp,
    namespace,
    body: {
      ...sourcePlugin(namespace, "held"),
      metadata: { name: "held", finalizers: ["patchbay.dev/cleanup"] },
    },
  });
  await custom.deleteNamespacedCustomObject({ ...sp, namespace, name: "held" });
  const deleting = await custom.getNamespacedCustomObject({ ...sp, namespace, name: "held" });
  assert.ok(deleting.metadata.deletionTimestamp);
  assert.equal(deleting.metadata.generation, 2, "marking for deletion bumps generation");

  const addFinalizer = await failureOf(
    custom.patchNamespacedCustomObject(
      {
        ...sp,
        namespace,
        name: "held",
        body: { metadata: { finalizers: ["patchbay.dev/cleanup", "other"] } },
      },
      mergePatch,
    ),
  );
  assert.equal(addFinalizer.code, 422);

  await custom.patchNamespacedCustomObject(
    { ...sp, namespace, name: "held", body: { metadata: { finalizers: null } } },
    mergePatch,
  );
  const gone = await failureOf(custom.getNamespacedCustomObject({ ...sp, namespace, name: "held" }));
  assert.equal(gone.code, 404);
});

test("garbage collection deletes dependents whose owner is gone", async () => {
  const namespace = freshNamespace();
  const owner = await createSourcePlugin(namespace, "owner");
  const ownerReferences = [
    {
      apiVersion: spApiVersion,
      kind: "SourcePlugin",
      name: "owner",
      uid: owner.metadata.uid ?? "",
      controller: true,
    },
  ];
  const deployment = await apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: "owner-plugin", ownerReferences },
      spec: {
        selector: { matchLabels: { app: "owner" } },
        template: {
          metadata: { labels: { app: "owner" } },
          spec: { containers: [{ name: "plugin", image: "x" }] },
        },
      },
    },
  });
  assert.equal(deployment.spec?.replicas, 1);
  assert.equal(deployment.metadata?.ownerReferences?.[0]?.uid, owner.metadata.uid);
  const service = await core.createNamespacedService({
    namespace,
    body: { metadata: { name: "owner-plugin", ownerReferences }, spec: { ports: [{ port: 50051 }] } },
  });
  assert.match(service.spec?.clusterIP ?? "", /^10\.96\./);

  const mismatched = await failureOf(
    apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: "bad" },
        spec: {
          selector: { matchLabels: { app: "a" } },
          template: { metadata: { labels: { app: "b" } }, spec: { containers: [{ name: "c", image: "x" }] } },
        },
      },
    }),
  );
  assert.equal(mismatched.reason, "Invalid");

  await custom.deleteNamespacedCustomObject({ ...sp, namespace, name: "owner" });
  assert.equal(
    api.get({ apiVersion: "apps/v1", kind: "Deployment", namespace, name: "owner-plugin" }),
    undefined,
  );
  assert.equal(api.get({ apiVersion: "v1", kind: "Service", namespace, name: "owner-plugin" }), undefined);
});

test("label and field selectors on lists", async () => {
  const namespace = freshNamespace();
  const pod = (name: string, labels: Record<string, string>) => ({
    metadata: { name, labels },
    spec: { containers: [{ name: "c", image: "x" }] },
  });
  await core.createNamespacedPod({ namespace, body: pod("a", { app: "web", tier: "fe" }) });
  await core.createNamespacedPod({ namespace, body: pod("b", { app: "web", tier: "be" }) });
  await core.createNamespacedPod({ namespace, body: pod("c", { app: "db" }) });
  const names = async (labelSelector?: string, fieldSelector?: string) =>
    (await core.listNamespacedPod({ namespace, labelSelector, fieldSelector })).items.map(
      (p) => p.metadata?.name,
    );

  assert.deepEqual(await names("app=web"), ["a", "b"]);
  assert.deepEqual(await names("app==web,tier!=fe"), ["b"]);
  assert.deepEqual(await names("tier in (fe, be)"), ["a", "b"]);
  assert.deepEqual(await names("app notin (web)"), ["c"]);
  assert.deepEqual(await names("tier"), ["a", "b"]);
  assert.deepEqual(await names("!tier"), ["c"]);
  assert.deepEqual(await names(undefined, "metadata.name=b"), ["b"]);
  assert.deepEqual(await names("app=web", "metadata.name!=a"), ["b"]);
  assert.deepEqual(await names(undefined, "status.phase=Pending"), ["a", "b", "c"]);
  const everywhere = await core.listPodForAllNamespaces({ fieldSelector: `metadata.namespace=${namespace}` });
  assert.equal(everywhere.items.length, 3);

  const bad = await failureOf(core.listNamespacedPod({ namespace, fieldSelector: "spec.nope=1" }));
  assert.equal(bad.code, 400);
  assert.equal(bad.message, "field label not supported: spec.nope");
});

test("leases and events through their own API groups", async () => {
  const namespace = freshNamespace();
  const coordination = kc.makeApiClient(CoordinationV1Api);
  const lease = await coordination.createNamespacedLease({
    namespace,
    body: {
      metadata: { name: "patchbay-leader" },
      spec: { holderIdentity: "replica-a", leaseDurationSeconds: 15 },
    },
  });
  await coordination.replaceNamespacedLease({
    name: "patchbay-leader",
    namespace,
    body: { ...lease, spec: { ...lease.spec, holderIdentity: "replica-b" } },
  });
  const lost = await failureOf(
    coordination.replaceNamespacedLease({
      name: "patchbay-leader",
      namespace,
      body: { ...lease, spec: { ...lease.spec, holderIdentity: "replica-c" } },
    }),
  );
  assert.equal(lost.reason, "Conflict", "a replica with a stale lease loses the election");

  const events = kc.makeApiClient(EventsV1Api);
  await events.createNamespacedEvent({
    namespace,
    body: {
      metadata: { name: "heartbeat.1" },
      eventTime: new Date(),
      reportingController: "patchbay.dev/operator",
      reportingInstance: "replica-a",
      action: "Reconcile",
      reason: "Ready",
      type: "Normal",
      note: "plugin is ready",
      regarding: { apiVersion: spApiVersion, kind: "SourcePlugin", name: "heartbeat", namespace },
    },
  });
  const coreEvents = await core.listNamespacedEvent({
    namespace,
    fieldSelector: "involvedObject.name=heartbeat",
  });
  assert.equal(coreEvents.items[0]?.message, "plugin is ready", "one storage, two API views");
  assert.equal(coreEvents.items[0]?.reportingComponent, "patchbay.dev/operator");
});

test("server-side apply creates, merges, records managers and reports conflicts", async () => {
  const namespace = freshNamespace();
  const apply = (manager: string, spec: Record<string, unknown>, force = false) =>
    custom.patchNamespacedCustomObject(
      {
        ...sp,
        namespace,
        name: "applied",
        body: sourcePlugin(namespace, "applied", spec),
        fieldManager: manager,
        force,
      },
      setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
    );
  const created = await apply("operator", { image: "a:1", mode: "Pod" });
  assert.equal(created.metadata.managedFields[0].manager, "operator");
  const merged = await apply("operator", { image: "a:2" });
  assert.equal(merged.spec.image, "a:2");
  assert.equal(merged.spec.mode, "Pod", "a field dropped from the applied config falls back to its default");

  const conflict = await failureOf(apply("someone-else", { image: "b:1" }));
  assert.equal(conflict.code, 409);
  assert.match(conflict.message ?? "", /conflict with "operator": \.spec\.image/);
  const forced = await apply("someone-else", { image: "b:1" }, true);
  assert.equal(forced.spec.image, "b:1");
});

test("KubernetesObjectApi: create, read, list, server-side apply, delete", async () => {
  const namespace = freshNamespace();
  const client = KubernetesObjectApi.makeApiClient(kc);
  const spec: KubernetesObject = sourcePlugin(namespace, "generic");
  await client.create(spec);
  const read = await client.read({
    apiVersion: spApiVersion,
    kind: "SourcePlugin",
    metadata: { name: "generic", namespace },
  });
  assert.equal(read.metadata?.generation, 1);
  const applied = await client.patch(
    { ...spec, spec: { image: "example/generic:2" } },
    undefined,
    undefined,
    "patchbay-operator",
    true,
    PatchStrategy.ServerSideApply,
  );
  assert.deepEqual(
    applied.metadata?.managedFields?.map((m) => m.manager),
    ["patchbay-operator"],
  );
  assert.equal((await client.list(spApiVersion, "SourcePlugin", namespace)).items.length, 1);
  await client.delete(spec);
  assert.equal(api.list({ apiVersion: spApiVersion, kind: "SourcePlugin", namespace }).length, 0);
});

test("Watch: events after a resourceVersion, label-selector transitions, 410 Gone after compaction", async () => {
  const namespace = freshNamespace();
  const path = `/apis/patchbay.dev/v1alpha1/namespaces/${namespace}/sourceplugins`;
  const start = api.resourceVersion();
  await createSourcePlugin(namespace, "one");

  const seen: string[] = [];
  const watch = new Watch(kc);
  const controller = await watch.watch(
    path,
    { resourceVersion: start, labelSelector: "watched=yes" },
    (type: string, obj: KubernetesObject) => seen.push(`${type} ${obj.metadata?.name}`),
    () => undefined,
  );
  const label = (name: string, value: string | null) =>
    custom.patchNamespacedCustomObject(
      { ...sp, namespace, name, body: { metadata: { labels: { watched: value } } } },
      mergePatch,
    );
  await label("one", "yes");
  await label("one", "no");
  await api.waitFor(() => seen.length >= 2, { what: "label transition events" });
  assert.deepEqual(seen, ["ADDED one", "DELETED one"]);
  controller.abort();

  api.compactHistory();
  const errors: unknown[] = [];
  const done = new Promise<unknown>((resolve) => {
    void watch.watch(
      path,
      { resourceVersion: start },
      (type: string, obj: unknown) => errors.push({ type, obj }),
      resolve,
    );
  });
  assert.equal(await done, null, "the stream ends cleanly after the ERROR event");
  assert.deepEqual(errors, [
    {
      type: "ERROR",
      obj: {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: `too old resource version: ${start} (${api.resourceVersion()})`,
        reason: "Expired",
        code: 410,
      },
    },
  ]);
});

test("an informer sees add, update and delete; survives dropped watches; re-lists after 410", async (t) => {
  const namespace = freshNamespace();
  const path = `/apis/patchbay.dev/v1alpha1/namespaces/${namespace}/sourceplugins`;
  const informer = makeInformer(kc, path, () => custom.listNamespacedCustomObject({ ...sp, namespace }));
  const log: string[] = [];
  informer.on("add", (o) => log.push(`add ${o.metadata?.name}`));
  informer.on("update", (o) => log.push(`update ${o.metadata?.name}`));
  informer.on("delete", (o) => log.push(`delete ${o.metadata?.name}`));
  // client-node informers stop on errors; a controller restarts them, and so does this test
  // (only when allowed, so the test decides what happens while the informer is disconnected).
  let restartAllowed = true;
  let stopped = false;
  const errors: unknown[] = [];
  informer.on("error", (error) => {
    errors.push(error);
    const restart = async () => {
      while (!restartAllowed) await new Promise((r) => setTimeout(r, 5));
      if (!stopped) await informer.start();
    };
    void restart();
  });
  t.after(async () => {
    stopped = true;
    await informer.stop();
  });
  await informer.start();
  const lists = () => api.requests.filter((r) => r.method === "GET" && r.path === path && !r.watch).length;
  const waitForLog = (entry: string) => api.waitFor(() => log.includes(entry), { what: entry });

  await createSourcePlugin(namespace, "a");
  await waitForLog("add a");
  await custom.patchNamespacedCustomObject(
    { ...sp, namespace, name: "a", body: { spec: { image: "example/a:2" } } },
    mergePatch,
  );
  await waitForLog("update a");
  await custom.deleteNamespacedCustomObject({ ...sp, namespace, name: "a" });
  await waitForLog("delete a");

  // A clean end (a server-side watch timeout): the informer reconnects by itself, no error.
  const listsBefore = lists();
  const errorsBefore = errors.length;
  assert.equal(api.endWatches(), 1);
  await createSourcePlugin(namespace, "z");
  await waitForLog("add z");
  assert.equal(errors.length, errorsBefore);
  await custom.deleteNamespacedCustomObject({ ...sp, namespace, name: "z" });
  await waitForLog("delete z");

  // Abrupt connection loss: the informer errors out, is restarted and resumes from its resourceVersion.
  assert.equal(api.dropWatches(), 1);
  await api.waitFor(() => api.openWatches() === 1, { what: "the watch to reconnect" });
  await createSourcePlugin(namespace, "b");
  await waitForLog("add b");
  assert.equal(lists(), listsBefore, "resuming after a dropped watch does not re-list");

  // Missed events plus compacted history: the resumed watch gets 410 and the informer re-lists.
  restartAllowed = false;
  api.dropWatches();
  await api.waitFor(() => api.openWatches() === 0, { what: "the watch to close" });
  await createSourcePlugin(namespace, "c");
  api.compactHistory();
  restartAllowed = true;
  await waitForLog("add c");
  assert.equal(lists(), listsBefore + 1, "the informer re-listed after 410 Gone");
  assert.deepEqual(
    informer
      .list(namespace)
      .map((o) => o.metadata?.name)
      .sort(),
    ["b", "c"],
  );
  assert.ok(errors.length >= 2, "each dropped watch surfaced as an informer error");
});

test("fault injection: failNext answers matching requests with the given Status", async () => {
  const namespace = freshNamespace();
  await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "c" } } });
  const fault = api.failNext({
    method: "GET",
    pathPattern: `/namespaces/${namespace}/configmaps/c`,
    status: 500,
    times: 2,
  });
  assert.equal(
    (await failureOf(core.readNamespacedConfigMap({ namespace, name: "c" }))).reason,
    "InternalError",
  );
  assert.equal(fault.remaining(), 1);
  assert.equal((await failureOf(core.readNamespacedConfigMap({ namespace, name: "c" }))).code, 500);
  assert.equal((await core.readNamespacedConfigMap({ namespace, name: "c" })).metadata?.name, "c");

  api.failNext({ method: "PUT", pathPattern: /configmaps\/c$/, status: 409 });
  const conflict = await failureOf(
    core.replaceNamespacedConfigMap({ namespace, name: "c", body: { metadata: { name: "c" } } }),
  );
  assert.equal(conflict.reason, "Conflict");
  const injected = api.requests.filter((r) => r.injected).map((r) => `${r.method} ${r.status}`);
  assert.deepEqual(injected, ["GET 500", "GET 500", "PUT 409"]);
});
