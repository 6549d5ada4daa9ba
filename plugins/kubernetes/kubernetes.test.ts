/**
 * The kubernetes source as a real process, reading a recorded Kubernetes API (list + watch over HTTP)
 * through client-node, called over real gRPC.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import type { KubernetesObject } from "@kubernetes/client-node";
import { Severity, type Event, type SourceClient } from "patchbay/protocol";
import { dataOf, sourceClient, startPlugin, waitFor, type StartedPlugin } from "../testing/index.ts";
import { startRecordedApi, type RecordedApi } from "./recorded-api.ts";

const EVENTS = "/api/v1/events";
const DEPLOYMENTS = "/apis/apps/v1/deployments";
const deploymentsConfig = { group: "apps", version: "v1", resource: "deployments" };

function deployment(
  name: string,
  namespace = "shop",
  extra: {
    replicas?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ready?: number;
  } = {},
): KubernetesObject & Record<string, unknown> {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name,
      namespace,
      uid: `uid-${namespace}-${name}`,
      labels: extra.labels ?? { app: name },
      annotations: extra.annotations ?? {},
      creationTimestamp: new Date("2026-11-25T05:00:00Z"),
    },
    spec: {
      replicas: extra.replicas ?? 1,
      template: { spec: { containers: [{ name, image: `${name}:1` }] } },
    },
    status: { readyReplicas: extra.ready ?? 0 },
  };
}

function kubeEvent(
  uid: string,
  extra: {
    namespace?: string;
    type?: string;
    reason?: string;
    message?: string;
    count?: number;
    kind?: string;
  } = {},
): KubernetesObject & Record<string, unknown> {
  const namespace = extra.namespace ?? "shop";
  return {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: `web.${uid}`, namespace, uid },
    type: extra.type ?? "Warning",
    reason: extra.reason ?? "BackOff",
    message: extra.message ?? "Back-off restarting failed container web",
    count: extra.count ?? 1,
    involvedObject: { kind: extra.kind ?? "Pod", namespace, name: "web-1", uid: "pod-uid", apiVersion: "v1" },
    source: { component: "kubelet" },
    firstTimestamp: "2026-11-25T05:01:00Z",
    lastTimestamp: "2026-11-25T05:02:00Z",
  };
}

describe("kubernetes source", () => {
  let api: RecordedApi;
  let plugin: StartedPlugin;
  let client: SourceClient;
  const dir = mkdtempSync(join(tmpdir(), "patchbay-kubernetes-"));

  before(async () => {
    api = await startRecordedApi();
    const kubeconfig = join(dir, "kubeconfig");
    await api.writeKubeconfig(kubeconfig);
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

  /** Opens a stream and waits until its informers watch; events accumulate in `events`. */
  async function openStream(config: object, watching: string[]) {
    openStreams++;
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
      () => failure ?? (streamsOpened() > opened && watching.every((path) => api.watchers(path) >= 1)),
      {
        what: `watches on ${watching.join(", ")}`,
      },
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
          await waitFor(() => watching.every((path) => api.watchers(path) === 0), {
            what: "the informers to stop",
          });
        }
      },
    };
  }

  it("reports a new Warning Event — not those that existed before — with a stable id", async () => {
    api.seed(EVENTS, kubeEvent("old-event", { reason: "OldNews" }));
    const stream = await openStream({}, [EVENTS]);
    try {
      api.send(EVENTS, "ADDED", kubeEvent("ev-1"));
      const [event] = await stream.next(1);
      assert.equal(event!.type, "dev.patchbay.kubernetes.event.warning");
      assert.equal(event!.id, "ev-1-1");
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
      // The same occurrence re-sent keeps its id (the host dedups it); a recurrence gets a new one.
      api.send(EVENTS, "MODIFIED", kubeEvent("ev-1"));
      api.send(EVENTS, "MODIFIED", kubeEvent("ev-1", { count: 2 }));
      await stream.next(3);
      assert.deepEqual(
        stream.events.map((e) => e.id),
        ["ev-1-1", "ev-1-1", "ev-1-2"],
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
      api.send(EVENTS, "ADDED", kubeEvent("f-1", { namespace: "kube-system" })); // namespace not included
      api.send(EVENTS, "ADDED", kubeEvent("f-2", { namespace: "team-sandbox" })); // excluded
      api.send(EVENTS, "ADDED", kubeEvent("f-3", { kind: "Node" })); // kind
      api.send(EVENTS, "ADDED", kubeEvent("f-4", { reason: "Pulled" })); // reason
      api.send(EVENTS, "ADDED", kubeEvent("f-5", { message: "quota exceeded" })); // message
      api.send(
        EVENTS,
        "ADDED",
        kubeEvent("f-6", { namespace: "team-a", reason: "FailedMount", type: "Normal" }),
      );
      api.send(EVENTS, "ADDED", kubeEvent("f-7"));
      await stream.next(2);
      assert.deepEqual(
        stream.events.map((e) => [e.id, e.type, e.severity]),
        [
          ["f-6-1", "dev.patchbay.kubernetes.event.normal", Severity.SEVERITY_INFO],
          ["f-7-1", "dev.patchbay.kubernetes.event.warning", Severity.SEVERITY_WARNING],
        ],
      );
    } finally {
      await stream.close();
    }
  });

  it("reports created, updated (saying what changed) and deleted resources", async () => {
    api.seed(DEPLOYMENTS, deployment("existing"));
    const stream = await openStream({ events: { enabled: false }, resources: [deploymentsConfig] }, [
      DEPLOYMENTS,
    ]);
    try {
      api.send(DEPLOYMENTS, "ADDED", deployment("web"));
      api.send(DEPLOYMENTS, "MODIFIED", deployment("web", "shop", { ready: 1 })); // status only: quiet by default
      api.send(
        DEPLOYMENTS,
        "MODIFIED",
        deployment("web", "shop", { replicas: 3, labels: { app: "web", tier: "front" } }),
      );
      api.send(DEPLOYMENTS, "DELETED", deployment("web", "shop", { replicas: 3 }));
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
      assert.deepEqual(update.changes, [
        { path: "spec.replicas", from: 1, to: 3 },
        { path: "metadata.labels.tier", to: "front" },
        { path: "status.readyReplicas", from: 1, to: 0 },
      ]);
      assert.equal(update.resourceVersion, updated!.id.replace("uid-shop-web-", ""));
      assert.equal(deleted!.id, "uid-shop-web-deleted");
      assert.equal(stream.events.length, 3);
    } finally {
      await stream.close();
    }
  });

  it("honours the label selector, required annotations and the opt-out annotation", async () => {
    const stream = await openStream(
      {
        events: { enabled: false },
        resources: [{ ...deploymentsConfig, on: ["create"] }],
        labelSelector: "tier in (front,back),app!=legacy",
        annotations: { team: "payments" },
      },
      [DEPLOYMENTS],
    );
    try {
      const team = { team: "payments" };
      api.send(DEPLOYMENTS, "ADDED", deployment("a", "shop", { labels: { tier: "db" }, annotations: team }));
      api.send(
        DEPLOYMENTS,
        "ADDED",
        deployment("b", "shop", { labels: { tier: "front", app: "legacy" }, annotations: team }),
      );
      api.send(DEPLOYMENTS, "ADDED", deployment("c", "shop", { labels: { tier: "front" } }));
      api.send(
        DEPLOYMENTS,
        "ADDED",
        deployment("d", "shop", {
          labels: { tier: "front" },
          annotations: { ...team, "patchbay.dev/ignore": "true" },
        }),
      );
      api.send(
        DEPLOYMENTS,
        "ADDED",
        deployment("e", "shop", { labels: { tier: "back" }, annotations: team }),
      );
      await stream.next(1);
      api.send(
        DEPLOYMENTS,
        "ADDED",
        deployment("f", "shop", { labels: { tier: "front" }, annotations: team }),
      );
      await stream.next(2);
      assert.deepEqual(
        stream.events.map((e) => dataOf(e).name),
        ["e", "f"],
      );
    } finally {
      await stream.close();
    }
  });

  it("shares one informer per resource type between streams with different filters", async () => {
    const listsBefore = api.requests.filter(
      (r) => r.startsWith(`GET ${DEPLOYMENTS}?`) || r === `GET ${DEPLOYMENTS}`,
    ).length;
    const shop = await openStream(
      { events: { enabled: false }, resources: [deploymentsConfig], namespaces: { include: ["shop"] } },
      [DEPLOYMENTS],
    );
    const billing = await openStream(
      { events: { enabled: false }, resources: [deploymentsConfig], namespaces: { include: ["billing"] } },
      [DEPLOYMENTS],
    );
    try {
      assert.equal(api.watchers(DEPLOYMENTS), 1);
      const lists = api.requests.filter((r) => r === `GET ${DEPLOYMENTS}`).length;
      assert.ok(lists - listsBefore <= 1, `one list for both streams, saw ${lists - listsBefore}`);
      api.send(DEPLOYMENTS, "ADDED", deployment("cart", "shop"));
      api.send(DEPLOYMENTS, "ADDED", deployment("invoices", "billing"));
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
    } finally {
      await shop.close();
      await billing.close();
    }
    // The last stream out stopped the informer (close() waited for it).
    assert.equal(api.watchers(DEPLOYMENTS), 0);
  });

  it("restarts an informer that stopped on an error, and keeps reporting", async () => {
    const stream = await openStream({ events: { enabled: false }, resources: [deploymentsConfig] }, [
      DEPLOYMENTS,
    ]);
    try {
      const watchRequests = () =>
        api.requests.filter((r) => r.startsWith(`GET ${DEPLOYMENTS}?watch=true`)).length;
      const before = watchRequests();
      api.failWatches(DEPLOYMENTS, 500, 2);
      // The watch ends, two rewatches fail with 500 (the informer stops each time), the third holds.
      await waitFor(() => watchRequests() >= before + 3 && api.watchers(DEPLOYMENTS) === 1, {
        what: "the informer to come back after two failed watches",
      });
      api.send(DEPLOYMENTS, "ADDED", deployment("after-restart"));
      const [event] = await stream.next(1);
      assert.equal(event!.subject, "shop/Deployment/after-restart");
      assert.match(plugin.stderr(), /informer stopped on an error; restarting/);
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
