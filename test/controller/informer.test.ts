/**
 * ResourceInformer against the Kubernetes API double over real HTTP, with the real client-node:
 * list + watch, dropped watches, 410 Gone, failing requests.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CoreV1Api, type V1ConfigMap } from "@kubernetes/client-node";
import { ResourceInformer } from "../../src/controller/index.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { startKubeApiDouble, type KubeApiDouble } from "../support/kube-api/index.ts";
import { waitFor } from "../support/wait.ts";

const log = createLogger("informer-test", "error");

function configMap(namespace: string, name: string, data: Record<string, string> = {}) {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { namespace, name }, data };
}

const ref = (namespace: string, name: string) => ({ apiVersion: "v1", kind: "ConfigMap", namespace, name });

describe("ResourceInformer against the API double", () => {
  let api: KubeApiDouble;
  let namespaceCount = 0;

  before(async () => {
    api = await startKubeApiDouble();
  });
  after(async () => {
    await api.close();
  });

  /** A fresh namespace per test, an informer on its ConfigMaps, and a record of its events. */
  function setUp(t: { after: (fn: () => Promise<void>) => void }) {
    const namespace = `ns${++namespaceCount}`;
    api.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
    const kubeConfig = api.kubeConfig();
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const informer = new ResourceInformer<V1ConfigMap>({
      kubeConfig,
      path: `/api/v1/namespaces/${namespace}/configmaps`,
      list: () => core.listNamespacedConfigMap({ namespace }),
      log,
      restartBackoff: { initialMs: 20, maxMs: 200 },
    });
    const events: string[] = [];
    informer.on("add", (obj) => events.push(`add ${obj.metadata?.name}`));
    informer.on("update", (old, obj) =>
      events.push(`update ${obj.metadata?.name} ${old.data?.v}->${obj.data?.v}`),
    );
    informer.on("delete", (obj) => events.push(`delete ${obj.metadata?.name}`));
    t.after(() => informer.stop());
    const names = () =>
      informer
        .list()
        .map((obj) => obj.metadata?.name)
        .sort();
    const lists = () =>
      api.requests.filter(
        (r) => r.method === "GET" && r.path === `/api/v1/namespaces/${namespace}/configmaps` && !r.watch,
      ).length;
    return { namespace, informer, events, names, lists };
  }

  it("lists, then watches adds, updates and deletes into its cache", async (t) => {
    const { namespace, informer, events, names } = setUp(t);
    api.create(configMap(namespace, "a", { v: "1" }));
    api.create(configMap(namespace, "b", { v: "1" }));
    assert.equal(informer.hasSynced, false);
    await informer.start();
    assert.equal(informer.hasSynced, true);
    assert.deepEqual(names(), ["a", "b"]);
    assert.deepEqual(events.sort(), ["add a", "add b"]);

    api.create(configMap(namespace, "c", { v: "1" }));
    api.patch(ref(namespace, "a"), { data: { v: "2" } });
    api.delete(ref(namespace, "b"));
    await waitFor(() => events.length === 5, { what: "three watch events" });
    assert.deepEqual(events.slice(2), ["add c", "update a 1->2", "delete b"]);
    assert.deepEqual(names(), ["a", "c"]);
    assert.equal(informer.get({ namespace, name: "a" })?.data?.v, "2");
    assert.equal(informer.get({ namespace, name: "b" }), undefined);
    assert.equal(informer.restarts, 0);
  });

  it("restarts a dropped watch from its resourceVersion and loses nothing created meanwhile", async (t) => {
    const { namespace, informer, events, names, lists } = setUp(t);
    api.create(configMap(namespace, "before"));
    await informer.start();
    await waitFor(() => api.openWatches() > 0, { what: "the watch to open" });
    const restarts: string[] = [];
    informer.on("restart", (reason) => restarts.push(reason));

    assert.ok(api.dropWatches() >= 1);
    // Written while the watch is down: the restarted watch must replay them.
    api.create(configMap(namespace, "during-1"));
    api.create(configMap(namespace, "during-2"));
    api.delete(ref(namespace, "before"));

    await waitFor(() => names().join() === "during-1,during-2", {
      what: "the changes made while the watch was down",
    });
    assert.ok(informer.restarts >= 1, "the restart is counted");
    assert.ok(restarts.length >= 1 && restarts.every((reason) => reason.length > 0), `reasons: ${restarts}`);
    assert.equal(lists(), 1, "resumed from the resourceVersion, without a re-list");
    assert.deepEqual(events, ["add before", "add during-1", "add during-2", "delete before"]);
  });

  it("re-lists after 410 Gone and notices deletes it missed", async (t) => {
    const { namespace, informer, events, names, lists } = setUp(t);
    api.create(configMap(namespace, "kept", { v: "1" }));
    api.create(configMap(namespace, "doomed"));
    await informer.start();
    await waitFor(() => api.openWatches() > 0, { what: "the watch to open" });
    const restartsBefore = informer.restarts;

    api.dropWatches();
    api.delete(ref(namespace, "doomed"));
    api.patch(ref(namespace, "kept"), { data: { v: "2" } });
    api.create(configMap(namespace, "born"));
    // The history the informer would resume from is gone: its next watch gets 410.
    api.compactHistory();

    await waitFor(() => lists() === 2, { what: "a re-list" });
    await waitFor(() => names().join() === "born,kept", { what: "the cache to match the server" });
    assert.ok(informer.restarts >= restartsBefore + 2, "the drop and the 410 each count as a restart");
    assert.equal(informer.get({ namespace, name: "kept" })?.data?.v, "2");
    assert.deepEqual(events.slice(2).sort(), ["add born", "delete doomed", "update kept 1->2"]);

    // And it watches again after the re-list.
    api.create(configMap(namespace, "after"));
    await waitFor(() => informer.get({ namespace, name: "after" }), {
      what: "a watch event after the re-list",
    });
  });

  it("keeps retrying, with backoff, while the watch or the list fails", async (t) => {
    const { namespace, informer, names } = setUp(t);
    api.failNext({
      method: "GET",
      pathPattern: `/namespaces/${namespace}/configmaps`,
      status: 503,
      times: 1,
    });
    await informer.start();
    assert.equal(informer.hasSynced, true, "synced after the failed first list was retried");
    await waitFor(() => api.openWatches() > 0, { what: "the watch to open" });
    const restartsBefore = informer.restarts;

    const watchFailures = api.failNext({
      method: "GET",
      pathPattern: new RegExp(`/namespaces/${namespace}/configmaps\\?.*watch=true`),
      status: 500,
      times: 3,
    });
    api.endWatches();
    api.create(configMap(namespace, "while-failing"));
    await waitFor(() => informer.get({ namespace, name: "while-failing" }), {
      what: "the object created while failing",
    });
    assert.equal(watchFailures.remaining(), 0, "all three failures were met");
    assert.ok(informer.restarts >= restartsBefore + 4, `restarts ${informer.restarts - restartsBefore}`);
    assert.deepEqual(names(), ["while-failing"]);
  });

  it("stops: no more watches, start() can be called again", async (t) => {
    const { namespace, informer } = setUp(t);
    await informer.start();
    await waitFor(() => api.openWatches() > 0, { what: "the watch to open" });
    await informer.stop();
    await waitFor(() => api.openWatches() === 0, { what: "the watch to close" });
    api.create(configMap(namespace, "unseen"));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(informer.get({ namespace, name: "unseen" }), undefined);
    await informer.start();
    await waitFor(() => informer.get({ namespace, name: "unseen" }), {
      what: "the restarted informer to catch up",
    });
  });
});
