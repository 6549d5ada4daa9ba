import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DELIVERED, type NotifierSink } from "../../src/notifiers/index.ts";
import type { NotifierRoute, Router } from "../../src/router/index.ts";
import {
  event,
  ids,
  metricValue,
  newRouter,
  startReceiver,
  waitFor,
  webhookRoute,
  type Receiver,
} from "./helpers.ts";

/** A sink that delivers instantly; routing tests read who received what from the router's counters. */
const noop: NotifierSink = { type: "noop", deliver: () => Promise.resolve(DELIVERED) };

function route(name: string, extra: Partial<NotifierRoute> = {}): NotifierRoute {
  return { name, sink: noop, delivery: { ratePerSecond: 0 }, ...extra };
}

function received(router: Router): Record<string, number> {
  return Object.fromEntries(Object.entries(router.stats().notifiers).map(([name, s]) => [name, s.received]));
}

describe("dedup on (source, id)", () => {
  let hook: Receiver;
  before(async () => {
    hook = await startReceiver();
  });
  after(() => hook.close());

  test("the same (source, id) twice is delivered once; the same id from another source is delivered too", async () => {
    const { router, registry } = newRouter();
    router.setNotifiers([webhookRoute("hook", hook)]);
    assert.equal(router.publish(event("42", { source: "a" })), "routed");
    assert.equal(router.publish(event("42", { source: "a" })), "duplicate");
    assert.equal(router.publish(event("42", { source: "b" })), "routed");
    await waitFor(() => router.stats().notifiers.hook!.delivered === 2, "two deliveries");
    await router.drain(1000);
    assert.deepEqual(ids(hook), ["42", "42"]);
    assert.deepEqual(
      hook.requests.map((r) => JSON.parse(r.body).source),
      ["a", "b"],
    );
    const stats = router.stats();
    assert.equal(stats.received, 3);
    assert.equal(stats.duplicates, 1);
    const text = await registry.metrics();
    assert.equal(metricValue(text, "patchbay_events_received_total", 'source="a"'), 2);
    assert.equal(metricValue(text, "patchbay_events_duplicate_total", 'source="a"'), 1);
    assert.equal(metricValue(text, "patchbay_events_duplicate_total", 'source="b"'), undefined);
  });

  test("the window is bounded by count: the oldest pair is forgotten first", async () => {
    const { router } = newRouter({ dedup: { maxEntries: 2 } });
    router.setNotifiers([route("n")]);
    assert.equal(router.publish(event("1")), "routed");
    assert.equal(router.publish(event("2")), "routed");
    assert.equal(router.publish(event("2")), "duplicate");
    assert.equal(router.publish(event("3")), "routed"); // forgets 1
    assert.equal(router.publish(event("1")), "routed"); // forgets 2
    assert.equal(router.publish(event("3")), "duplicate");
    assert.equal(router.publish(event("2")), "routed");
    await router.drain(1000);
  });

  test("the window is bounded by time", async () => {
    const { router } = newRouter({ dedup: { windowMs: 40 } });
    router.setNotifiers([route("n")]);
    assert.equal(router.publish(event("1")), "routed");
    assert.equal(router.publish(event("1")), "duplicate");
    const start = Date.now();
    await waitFor(() => Date.now() - start > 50, "the window to pass");
    assert.equal(router.publish(event("1")), "routed");
    await router.drain(1000);
  });
});

describe("selection by source", () => {
  test("names, label selectors (matchLabels and every operator) and absent = all", async () => {
    const { router } = newRouter();
    router.setSources([
      { name: "prom", labels: { team: "sre", env: "prod" } },
      { name: "k8s", labels: { team: "platform", env: "prod", tier: "infra" } },
      { name: "ci", labels: { team: "dev" } },
    ]);
    router.setNotifiers([
      route("all"),
      route("byName", { sources: { names: ["ci"] } }),
      route("prodSre", { sources: { selector: { matchLabels: { team: "sre", env: "prod" } } } }),
      route("in", {
        sources: {
          selector: { matchExpressions: [{ key: "team", operator: "In", values: ["sre", "dev"] }] },
        },
      }),
      route("notIn", {
        sources: { selector: { matchExpressions: [{ key: "team", operator: "NotIn", values: ["sre"] }] } },
      }),
      route("exists", { sources: { selector: { matchExpressions: [{ key: "tier", operator: "Exists" }] } } }),
      route("absent", {
        sources: { selector: { matchExpressions: [{ key: "env", operator: "DoesNotExist" }] } },
      }),
      route("nameOrLabel", { sources: { names: ["ci"], selector: { matchLabels: { tier: "infra" } } } }),
      route("everyLabelled", { sources: { selector: {} } }),
    ]);
    router.publish(event("1", { source: "prom" }));
    router.publish(event("2", { source: "k8s" }));
    router.publish(event("3", { source: "ci" }));
    router.publish(event("4", { source: "undeclared" }));
    assert.deepEqual(received(router), {
      all: 4,
      byName: 1,
      prodSre: 1,
      in: 2, // prom, ci
      notIn: 3, // k8s, ci, undeclared (no team label)
      exists: 1,
      absent: 2, // ci, undeclared
      nameOrLabel: 2,
      everyLabelled: 4,
    });
    await router.drain(1000);
  });

  test("changing a source's labels re-routes its next events", async () => {
    const { router } = newRouter();
    router.setSources([{ name: "prom", labels: { team: "sre" } }]);
    router.setNotifiers([route("sre", { sources: { selector: { matchLabels: { team: "sre" } } } })]);
    assert.equal(router.publish(event("1", { source: "prom" })), "routed");
    router.setSources([{ name: "prom", labels: { team: "dev" } }]);
    assert.equal(router.publish(event("2", { source: "prom" })), "unrouted");
    assert.equal(router.stats().unrouted, 1);
    await router.drain(1000);
  });
});

describe("filters", () => {
  test("types (exact and prefix), minimum severity, subject and data patterns", async () => {
    const { router } = newRouter();
    router.setNotifiers([
      route("types", { filter: { types: ["dev.patchbay.alert.firing", "io.k8s.*"] } }),
      route("severe", { filter: { minSeverity: "error" } }),
      route("subject", { filter: { subject: "^pod/checkout-" } }),
      route("data", {
        filter: {
          data: [
            { path: "labels.env", pattern: "^prod$" },
            { path: "count", pattern: "^[5-9]$" },
          ],
        },
      }),
      route("combined", { filter: { types: ["io.k8s.*"], minSeverity: "warning" } }),
    ]);
    const cases = [
      event("a", { type: "dev.patchbay.alert.firing", severity: "critical" }),
      event("b", { type: "dev.patchbay.alert.resolved", severity: "info" }),
      event("c", { type: "io.k8s.pod.crashloop", severity: "warning", subject: "pod/checkout-7f9" }),
      event("d", {
        type: "io.k8s.event",
        subject: "pod/cart-1",
        data: { labels: { env: "prod" }, count: 7 },
      }),
      event("e", { type: "x", data: { labels: { env: "production" }, count: 7 } }),
      event("f", { type: "x", data: { labels: { env: "prod" }, count: "5" } }),
      event("g", { type: "x", data: "labels.env=prod" }),
    ];
    const results = cases.map((e) => router.publish(e));
    // b is info-level and of no wanted type, subject or data: nobody takes it.
    assert.deepEqual(results, ["routed", "unrouted", "routed", "routed", "routed", "routed", "routed"]);
    assert.deepEqual(received(router), {
      types: 3, // a, c, d
      severe: 5, // a; every event without a severity (d, e, f, g) passes; b (info) and c (warning) do not
      subject: 1, // c
      data: 2, // d, f
      combined: 2, // c (warning), d (no severity)
    });
    await router.drain(1000);
  });

  test("an event no notifier wants is counted unrouted, not queued", async () => {
    const { router } = newRouter();
    router.setNotifiers([route("only", { filter: { types: ["wanted"] } })]);
    assert.equal(router.publish(event("1", { type: "unwanted" })), "unrouted");
    assert.equal(router.stats().unrouted, 1);
    assert.equal(router.stats().notifiers.only!.received, 0);
    await router.drain(1000);
  });
});

describe("throughput", () => {
  test("100,000 events through dedup, filters and 3 notifiers: each delivered once, quickly", async (t) => {
    const { router } = newRouter();
    router.setNotifiers([
      route("a", { delivery: { ratePerSecond: 0, queueSize: 100_000 } }),
      route("b", {
        delivery: { ratePerSecond: 0, queueSize: 100_000 },
        filter: { types: ["dev.*"], minSeverity: "info" },
      }),
      route("c", {
        delivery: { ratePerSecond: 0, queueSize: 100_000 },
        sources: { names: ["s0", "s1", "s2"] },
      }),
    ]);
    const n = 100_000;
    const events = Array.from({ length: n }, (_, i) =>
      event(String(i), { source: `s${i % 3}`, type: "dev.x", severity: "info", data: { i } }),
    );
    const started = performance.now();
    for (let i = 0; i < n; i += 1000) {
      for (let j = i; j < i + 1000; j++) router.publish(events[j]!);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const stats = await router.drain(10_000);
    const perSecond = n / ((performance.now() - started) / 1000);
    for (const name of ["a", "b", "c"]) assert.equal(stats.notifiers[name]!.delivered, n);
    t.diagnostic(`${Math.round(perSecond)} events/s`);
    // The 50,000/s target is the bench's to measure on a quiet core; this floor only catches a hot path
    // gone quadratic, and holds on a loaded two-core CI machine.
    assert.ok(perSecond > 2_000, `${Math.round(perSecond)} events/s`);
  });
});
