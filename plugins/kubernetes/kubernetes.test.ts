/**
 * The kubernetes source as a real process, reading the shared Kubernetes API test double
 * (test/support/kube-api) through client-node, called over real gRPC.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { Severity, type Event, type SourceClient } from "@patchbay/sdk/protocol";
import {
  kubeconfigDocument,
  startKubeApiDouble,
  type KubeApiDouble,
  type KubeObject,
  type ObjectRef,
} from "../../test/support/kube-api/index.ts";
import { dataOf, sourceClient, startPlugin, waitFor, type StartedPlugin } from "../testing/index.ts";

const EVENTS = "/api/v1/events";
const DEPLOYMENTS = "/apis/apps/v1/deployments";
const PODS = "/api/v1/pods";
const CONFIGMAPS = "/api/v1/configmaps";
const SECRETS = "/api/v1/secrets";
const WIDGETS = "/apis/example.com/v1/widgets";
const deploymentsConfig = { group: "apps", version: "v1", resource: "deployments" };
const IGNORE = { "patchbay.dev/ignore": "true" };

/** A CRD without a status subresource: one write can change spec and status together. */
const widgetCrd = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "widgets.example.com" },
  spec: {
    group: "example.com",
    scope: "Namespaced",
    names: { plural: "widgets", singular: "widget", kind: "Widget" },
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: {
              spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
              status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
            },
          },
        },
      },
    ],
  },
};

function deployment(
  name: string,
  namespace = "shop",
  extra: { replicas?: number; labels?: Record<string, string>; annotations?: Record<string, string> } = {},
) {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name,
      namespace,
      labels: extra.labels ?? { app: name },
      annotations: extra.annotations ?? {},
    },
    spec: {
      replicas: extra.replicas ?? 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name, image: `${name}:1` }] },
      },
    },
  };
}

function pod(name: string, annotations: Record<string, string> = {}) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "shop", annotations },
    spec: { containers: [{ name: "main", image: "web:1" }] },
  };
}

interface EventOptions {
  namespace?: string;
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  kind?: string;
  /** The involved object; default a Pod web-1 that does not exist. */
  about?: KubeObject;
}

function kubeEvent(name: string, extra: EventOptions = {}) {
  const namespace = extra.namespace ?? "shop";
  const about = extra.about?.metadata;
  return {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name, namespace },
    type: extra.type ?? "Warning",
    reason: extra.reason ?? "BackOff",
    message: extra.message ?? "Back-off restarting failed container web",
    count: extra.count ?? 1,
    involvedObject: {
      kind: extra.kind ?? "Pod",
      namespace,
      name: about?.name ?? "web-1",
      uid: about?.uid ?? "pod-uid",
      apiVersion: "v1",
    },
    source: { component: "kubelet" },
    firstTimestamp: "2026-11-25T05:01:00Z",
    lastTimestamp: "2026-11-25T05:02:00Z",
  };
}

function refOf(object: KubeObject): ObjectRef {
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    name: object.metadata.name!,
    namespace: object.metadata.namespace,
  };
}

describe("kubernetes source", () => {
  let api: KubeApiDouble;
  let plugin: StartedPlugin;
  let client: SourceClient;
  const dir = mkdtempSync(join(tmpdir(), "patchbay-kubernetes-"));

  before(async () => {
    api = await startKubeApiDouble({
      namespaces: ["default", "kube-system", "shop", "billing", "team-a", "team-sandbox"],
      crds: [widgetCrd],
    });
    // The plugin loads KUBECONFIG from a file, and client-node refuses plain HTTP from a file unless
    // TLS verification is off: the double's writeKubeconfig() does not say so, hence this one.
    const document = kubeconfigDocument(api.url) as { clusters: { cluster: Record<string, unknown> }[] };
    document.clusters[0]!.cluster["insecure-skip-tls-verify"] = true;
    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, JSON.stringify(document));
    // At info level the plugin logs "stream opened" once a stream has subscribed: the tests wait for it.
    plugin = await startPlugin("plugins/kubernetes/main.ts", {
      env: { KUBECONFIG: kubeconfig, PATCHBAY_LOG_LEVEL: "info" },
    });
    client = sourceClient(plugin.address);
  });
  after(async () => {
    client.close();
    await plugin.stop("SIGKILL");
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  let openStreams = 0;
  const streamsOpened = () => plugin.stderr().split('"message":"stream opened"').length - 1;
  /** Requests since the first stream of the current test opened (the request log is cleared then). */
  const requests = (path: string, kind: "watch" | "list" | "get") =>
    api.requests.filter((r) =>
      kind === "get"
        ? r.method === "GET" && r.path.startsWith(path)
        : r.path === path && r.watch === (kind === "watch"),
    );

  /** Opens a stream and waits until its informers watch; events accumulate in `events`. */
  async function openStream(config: object, watching: string[]) {
    if (openStreams++ === 0) api.clearRequests();
    const opened = streamsOpened();
    const call = client.stream({
      sourceName: "cluster",
      configJson: JSON.stringify(config),
      resumeAfterId: "",
    });
    const events: Event[] = [];
    let failure: grpc.ServiceError | undefined;
    call.on("data", (event: Event) => events.push(event));
    call.on("error", (err: grpc.ServiceError) => (failure = err));
    await waitFor(
      () =>
        failure ??
        (streamsOpened() > opened &&
          watching.every((path) => requests(path, "watch").some((r) => r.status === 200)) &&
          api.openWatches() >= watching.length),
      { what: `watches on ${watching.join(", ")}` },
    );
    if (failure) throw failure;
    return {
      events,
      next: (count: number) =>
        waitFor(() => events.length >= count && events, { what: `${count} events, have ${events.length}` }),
      /** Cancels; the last stream out also waits for the informers to stop, so each test starts afresh. */
      async close() {
        call.cancel();
        if (--openStreams === 0) {
          await waitFor(() => api.openWatches() === 0, { what: "the informers to stop" });
        }
      },
    };
  }

  it("reports a new Warning Event — not those that existed before — with a stable id", async () => {
    api.create(kubeEvent("old-event", { reason: "OldNews" }));
    const stream = await openStream({}, [EVENTS]);
    try {
      const created = api.create(kubeEvent("ev-1"));
      const uid = created.metadata.uid!;
      const [event] = await stream.next(1);
      assert.equal(event!.type, "dev.patchbay.kubernetes.event.warning");
      assert.equal(event!.id, `${uid}-1`);
      assert.equal(event!.severity, Severity.SEVERITY_WARNING);
      assert.equal(event!.subject, "shop/Pod/web-1");
      assert.equal(event!.time?.toISOString(), "2026-11-25T05:02:00.000Z");
      const data = dataOf(event!);
      assert.equal(data.reason, "BackOff");
      assert.equal(data.message, "Back-off restarting failed container web");
      assert.deepEqual(data.involvedObject, {
        kind: "Pod",
        namespace: "shop",
        name: "web-1",
        uid: "pod-uid",
        apiVersion: "v1",
      });
      // The same occurrence updated keeps its id (the host dedups it); a recurrence gets a new one.
      api.patch(refOf(created), { message: "Back-off restarting failed container web (again)" });
      api.patch(refOf(created), { count: 2 });
      await stream.next(3);
      assert.deepEqual(
        stream.events.map((e) => e.id),
        [`${uid}-1`, `${uid}-1`, `${uid}-2`],
      );
      assert.ok(!stream.events.some((e) => dataOf(e).reason === "OldNews"));
    } finally {
      await stream.close();
    }
  });

  it("filters Events by type, namespace, kind, reason and message", async () => {
    const stream = await openStream(
      {
        namespaces: { include: ["shop", "team-.*"], exclude: ["team-sandbox"] },
        events: {
          types: ["Warning", "Normal"],
          kinds: ["Pod"],
          reasons: ["BackOff|Failed.*"],
          messages: ["container"],
        },
      },
      [EVENTS],
    );
    try {
      api.create(kubeEvent("f-1", { namespace: "kube-system" })); // namespace not included
      api.create(kubeEvent("f-2", { namespace: "team-sandbox" })); // excluded
      api.create(kubeEvent("f-3", { kind: "Node" })); // kind
      api.create(kubeEvent("f-4", { reason: "Pulled" })); // reason
      api.create(kubeEvent("f-5", { message: "quota exceeded" })); // message
      const f6 = api.create(kubeEvent("f-6", { namespace: "team-a", reason: "FailedMount", type: "Normal" }));
      const f7 = api.create(kubeEvent("f-7"));
      await stream.next(2);
      assert.deepEqual(
        stream.events.map((e) => [e.id, e.type, e.severity]),
        [
          [`${f6.metadata.uid}-1`, "dev.patchbay.kubernetes.event.normal", Severity.SEVERITY_INFO],
          [`${f7.metadata.uid}-1`, "dev.patchbay.kubernetes.event.warning", Severity.SEVERITY_WARNING],
        ],
      );
    } finally {
      await stream.close();
    }
  });

  it("reports created, updated (saying what changed) and deleted resources", async () => {
    api.create(deployment("existing"));
    const stream = await openStream({ events: { enabled: false }, resources: [deploymentsConfig] }, [
      DEPLOYMENTS,
    ]);
    try {
      const web = api.create(deployment("web"));
      api.patch(refOf(web), { status: { readyReplicas: 1 } }, "merge", "status"); // status only: quiet by default
      api.patch(refOf(web), { metadata: { labels: { tier: "front" } }, spec: { replicas: 3 } });
      api.delete(refOf(web));
      const [created, updated, deleted] = await stream.next(3);
      assert.deepEqual(
        [created, updated, deleted].map((e) => [e!.type, e!.subject, e!.severity]),
        [
          ["dev.patchbay.kubernetes.resource.created", "shop/Deployment/web", Severity.SEVERITY_INFO],
          ["dev.patchbay.kubernetes.resource.updated", "shop/Deployment/web", Severity.SEVERITY_INFO],
          ["dev.patchbay.kubernetes.resource.deleted", "shop/Deployment/web", Severity.SEVERITY_WARNING],
        ],
      );
      const update = dataOf(updated!);
      // No bookkeeping (resourceVersion, generation) in the changes.
      assert.deepEqual(update.changes, [
        { path: "spec.replicas", from: 1, to: 3 },
        { path: "metadata.labels.tier", to: "front" },
      ]);
      assert.equal(update.moreChanges, 0);
      assert.equal(updated!.id, `${web.metadata.uid}-${String(update.resourceVersion)}`);
      assert.equal(deleted!.id, `${web.metadata.uid}-deleted`);
      assert.equal(stream.events.length, 3);
    } finally {
      await stream.close();
    }
  });

  it("reports a ConfigMap data change when updateFields asks for data", async () => {
    const stream = await openStream(
      {
        events: { enabled: false },
        resources: [{ version: "v1", resource: "configmaps", actions: ["update"], updateFields: ["data"] }],
      },
      [CONFIGMAPS],
    );
    try {
      const settings = api.create({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "settings", namespace: "shop" },
        data: { level: "info", mode: "fast" },
      });
      api.patch(refOf(settings), { metadata: { labels: { owner: "team-a" } } }); // not under data: quiet
      api.patch(refOf(settings), { data: { level: "debug" } });
      const [event] = await stream.next(1);
      assert.equal(event!.subject, "shop/ConfigMap/settings");
      assert.deepEqual(dataOf(event!).changes, [{ path: "data.level", from: "info", to: "debug" }]);
      assert.equal(stream.events.length, 1);
    } finally {
      await stream.close();
    }
  });

  it("says which Secret keys changed, never their values", async () => {
    const stream = await openStream(
      {
        events: { enabled: false },
        resources: [{ version: "v1", resource: "secrets", actions: ["update"], updateFields: ["data"] }],
      },
      [SECRETS],
    );
    try {
      const secret = api.create({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "db", namespace: "shop" },
        data: { password: Buffer.from("hunter2").toString("base64") },
      });
      api.patch(refOf(secret), {
        data: {
          password: Buffer.from("correct horse").toString("base64"),
          user: Buffer.from("app").toString("base64"),
        },
      });
      const [event] = await stream.next(1);
      assert.deepEqual(dataOf(event!).changes, [
        { path: "data.password", from: "(redacted)", to: "(redacted)" },
        { path: "data.user", to: "(redacted)" },
      ]);
      const raw = Buffer.from(event!.data).toString();
      for (const value of ["hunter2", "correct horse", "app"]) {
        assert.ok(!raw.includes(Buffer.from(value).toString("base64")), `no ${value} in ${raw}`);
      }
    } finally {
      await stream.close();
    }
  });

  it("finds a status change the user asked for behind more than 20 other changes, and says how many more", async () => {
    const stream = await openStream(
      {
        events: { enabled: false },
        resources: [{ group: "example.com", version: "v1", resource: "widgets", updateFields: ["status"] }],
      },
      [WIDGETS],
    );
    try {
      const settings = (value: number) =>
        Object.fromEntries(
          Array.from({ length: 25 }, (_, i) => [`setting${String(i).padStart(2, "0")}`, value]),
        );
      const widget = api.create({
        apiVersion: "example.com/v1",
        kind: "Widget",
        metadata: { name: "w", namespace: "shop" },
        spec: settings(0),
        status: { phase: "Pending" },
      });
      await stream.next(1); // created
      api.patch(refOf(widget), { spec: settings(1) }); // 25 spec changes, no status: quiet
      api.patch(refOf(widget), { spec: settings(2), status: { phase: "Ready" } });
      const [, updated] = await stream.next(2);
      const data = dataOf(updated!);
      const changes = data.changes as { path: string }[];
      assert.equal(changes.length, 20);
      assert.deepEqual(changes[0], { path: "status.phase", from: "Pending", to: "Ready" });
      assert.deepEqual(changes[1], { path: "spec.setting00", from: 1, to: 2 });
      assert.equal(data.moreChanges, 6);
      assert.equal(stream.events.length, 2);
    } finally {
      await stream.close();
    }
  });

  it("honours the label selector, required annotations and the opt-out annotation", async () => {
    const stream = await openStream(
      {
        events: { enabled: false },
        resources: [{ ...deploymentsConfig, actions: ["create"] }],
        labelSelector: "tier in (front,back),app!=legacy",
        annotations: { team: "payments" },
      },
      [DEPLOYMENTS],
    );
    try {
      const team = { team: "payments" };
      api.create(deployment("a", "shop", { labels: { tier: "db" }, annotations: team }));
      api.create(deployment("b", "shop", { labels: { tier: "front", app: "legacy" }, annotations: team }));
      api.create(deployment("c", "shop", { labels: { tier: "front" } }));
      api.create(deployment("d", "shop", { labels: { tier: "front" }, annotations: { ...team, ...IGNORE } }));
      api.create(deployment("e", "shop", { labels: { tier: "back" }, annotations: team }));
      await stream.next(1);
      api.create(deployment("f", "shop", { labels: { tier: "front" }, annotations: team }));
      await stream.next(2);
      assert.deepEqual(
        stream.events.map((e) => dataOf(e).name),
        ["e", "f"],
      );
    } finally {
      await stream.close();
    }
  });

  it("does not report the Events of an object that opted out, from the informer cache when it has one", async () => {
    const stream = await openStream(
      { resources: [{ version: "v1", resource: "pods", actions: ["create"] }] },
      [EVENTS, PODS],
    );
    try {
      const quiet = api.create(pod("quiet", IGNORE));
      const loud = api.create(pod("loud"));
      // quiet opted out of its own created event; it came first on the same watch, so once loud's
      // created event is here both are in the pods informer's cache.
      await stream.next(1);
      api.create(kubeEvent("quiet.1", { about: quiet }));
      const loudEvent = api.create(kubeEvent("loud.1", { about: loud }));
      await stream.next(2);
      // Events are reported in order, so the quiet one would have come first.
      assert.deepEqual(
        stream.events.map((e) => e.id),
        [`${loud.metadata.uid}-${loud.metadata.resourceVersion}`, `${loudEvent.metadata.uid}-1`],
      );
      assert.deepEqual(requests("/api/v1/namespaces/shop/pods/", "get"), [], "no GET: the cache answered");
    } finally {
      await stream.close();
    }
  });

  it("does not report the Events of an unwatched object that opted out, asking the API once", async () => {
    const quiet = api.create(pod("quiet-unwatched", IGNORE));
    const loud = api.create(pod("loud-unwatched"));
    const stream = await openStream({}, [EVENTS]);
    try {
      api.create(kubeEvent("quiet-unwatched.1", { about: quiet }));
      api.create(kubeEvent("quiet-unwatched.2", { about: quiet, reason: "Unhealthy" }));
      const loudEvent = api.create(kubeEvent("loud-unwatched.1", { about: loud }));
      await stream.next(1);
      assert.deepEqual(
        stream.events.map((e) => e.id),
        [`${loudEvent.metadata.uid}-1`],
      );
      // Remembered: the second Event about the same Pod did not ask again.
      assert.equal(requests("/api/v1/namespaces/shop/pods/quiet-unwatched", "get").length, 1);
    } finally {
      await stream.close();
    }
  });

  it("shares one informer per resource type between streams with different filters", async () => {
    const shop = await openStream(
      { events: { enabled: false }, resources: [deploymentsConfig], namespaces: { include: ["shop"] } },
      [DEPLOYMENTS],
    );
    const billing = await openStream(
      { events: { enabled: false }, resources: [deploymentsConfig], namespaces: { include: ["billing"] } },
      [DEPLOYMENTS],
    );
    try {
      // The double's request log: one list and one watch served both streams.
      assert.equal(requests(DEPLOYMENTS, "list").length, 1);
      assert.equal(requests(DEPLOYMENTS, "watch").length, 1);
      assert.equal(api.openWatches(), 1);
      api.create(deployment("cart", "shop"));
      api.create(deployment("invoices", "billing"));
      await shop.next(1);
      await billing.next(1);
      assert.deepEqual(
        shop.events.map((e) => e.subject),
        ["shop/Deployment/cart"],
      );
      assert.deepEqual(
        billing.events.map((e) => e.subject),
        ["billing/Deployment/invoices"],
      );
      assert.equal(requests(DEPLOYMENTS, "watch").length, 1);
    } finally {
      await shop.close();
      await billing.close();
    }
    // The last stream out stopped the informer (close() waited for it).
    assert.equal(api.openWatches(), 0);
  });

  it("restarts an informer that stopped on an error, and keeps reporting", async () => {
    const stream = await openStream({ events: { enabled: false }, resources: [deploymentsConfig] }, [
      DEPLOYMENTS,
    ]);
    try {
      const fault = api.failNext({
        pathPattern: /\/apis\/apps\/v1\/deployments\?.*watch=true/,
        status: 500,
        times: 2,
      });
      assert.equal(api.dropWatches(), 1);
      // The watch breaks, two rewatches fail with 500 (the informer stops each time), the third holds.
      await waitFor(() => fault.remaining() === 0 && api.openWatches() === 1, {
        what: "the informer to come back after two failed watches",
      });
      assert.equal(requests(DEPLOYMENTS, "watch").filter((r) => r.injected).length, 2);
      api.create(deployment("after-restart"));
      const [event] = await stream.next(1);
      assert.equal(event!.subject, "shop/Deployment/after-restart");
      assert.match(plugin.stderr(), /informer stopped on an error; restarting/);
    } finally {
      await stream.close();
    }
  });

  it("re-lists after 410 Gone and reports what changed while it was away", async () => {
    const leaving = api.create(deployment("leaving"));
    const stream = await openStream({ events: { enabled: false }, resources: [deploymentsConfig] }, [
      DEPLOYMENTS,
    ]);
    try {
      // While the informer is away (it restarts after a pause), things change and history is lost.
      assert.equal(api.dropWatches(), 1);
      api.create(deployment("arrived"));
      api.delete(refOf(leaving));
      api.compactHistory();
      await stream.next(2);
      assert.deepEqual(stream.events.map((e) => [e.type, e.subject]).sort(), [
        ["dev.patchbay.kubernetes.resource.created", "shop/Deployment/arrived"],
        ["dev.patchbay.kubernetes.resource.deleted", "shop/Deployment/leaving"],
      ]);
      assert.ok(requests(DEPLOYMENTS, "list").length >= 2, "the informer listed again after the 410");
    } finally {
      await stream.close();
    }
  });

  it("rejects a bad config with INVALID_ARGUMENT naming the problem", async () => {
    for (const [config, problem] of [
      [{ namespaces: { include: ["(shop"] } }, /config\.namespaces\.include\.0 must match format "regex"/],
      [
        { resources: [{ group: "apps", resource: "deployments" }] },
        /config\.resources\.0 must have required property 'version'/,
      ],
      [
        { events: { types: ["Error"] } },
        /config\.events\.types\.0 must be equal to one of the allowed values/,
      ],
      [{ labelSelector: "app in prod" }, /labelSelector: cannot parse/],
      [{ filters: {} }, /unknown property 'filters'/],
    ] as const) {
      const call = client.stream({
        sourceName: "cluster",
        configJson: JSON.stringify(config),
        resumeAfterId: "",
      });
      call.on("data", () => assert.fail("no event expected"));
      const [err] = (await once(call, "error")) as [grpc.ServiceError];
      assert.equal(err.code, grpc.status.INVALID_ARGUMENT, err.message);
      assert.match(err.details, problem);
    }
  });
});
