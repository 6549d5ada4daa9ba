import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { DELIVERED, type NotifierSink } from "../../src/notifiers/index.ts";
import type { ServerResponse } from "node:http";
import {
  answer,
  balanced,
  event,
  ids,
  metricValue,
  newRouter,
  startReceiver,
  waitFor,
  webhookRoute,
  type Receiver,
} from "./helpers.ts";
import type { Router } from "../../src/router/index.ts";

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  cleanups.push(() => r.close());
  return r;
}

function router(options = {}) {
  const made = newRouter(options);
  cleanups.push(() => made.router.drain(0));
  return made;
}

function ok(router: Router, name: string) {
  const stats = router.stats().notifiers[name]!;
  assert.ok(balanced(stats), `accounting broken: ${JSON.stringify(stats)}`);
  return stats;
}

describe("retries", () => {
  test("429 with Retry-After in seconds: the retry does not come before the time", async () => {
    const hook = await receiver();
    let calls = 0;
    hook.respond((_req, res) =>
      ++calls === 1 ? answer(429, { "retry-after": "1" })(_req, res) : answer(200)(_req, res),
    );
    const { router: r } = router();
    r.setNotifiers([webhookRoute("hook", hook)]);
    r.publish(event("1"));
    await waitFor(() => r.stats().notifiers.hook!.delivered === 1, "delivery after 429");
    const [first, second] = hook.requests;
    assert.ok(second!.at - first!.at >= 1000, `retried after ${second!.at - first!.at} ms`);
    assert.equal(ok(r, "hook").retries, 1);
  });

  test("503 with Retry-After as an HTTP-date: the retry does not come before that date", async () => {
    const hook = await receiver();
    let retryAt = 0;
    hook.respond((req, res) => {
      if (retryAt === 0) {
        // HTTP-dates have whole seconds: ask for the second after next.
        retryAt = (Math.floor(Date.now() / 1000) + 2) * 1000;
        answer(503, { "retry-after": new Date(retryAt).toUTCString() })(req, res);
      } else answer(200)(req, res);
    });
    const { router: r } = router();
    r.setNotifiers([webhookRoute("hook", hook)]);
    r.publish(event("1"));
    await waitFor(() => r.stats().notifiers.hook!.delivered === 1, "delivery after 503", 5000);
    assert.ok(hook.requests[1]!.at >= retryAt, `retried ${retryAt - hook.requests[1]!.at} ms early`);
  });

  test("5xx is retried with backoff until it succeeds; a permanent 400 is not retried", async () => {
    const hook = await receiver();
    let calls = 0;
    hook.respond((req, res) => {
      const id = JSON.parse(req.body).id;
      if (id === "bad") return answer(400, {}, "invalid payload")(req, res);
      answer(++calls <= 3 ? 500 : 200)(req, res);
    });
    const { router: r } = router();
    r.setNotifiers([webhookRoute("hook", hook)]);
    r.publish(event("flaky"));
    r.publish(event("bad"));
    await waitFor(() => ok(r, "hook").delivered + ok(r, "hook").failed === 2, "both settled");
    assert.deepEqual(ids(hook), ["flaky", "flaky", "flaky", "flaky", "bad"]);
    const stats = ok(r, "hook");
    assert.equal(stats.delivered, 1);
    assert.equal(stats.failed, 1);
    assert.equal(stats.retries, 3);
  });

  test("a receiver that is down for a while gets every queued event exactly once, in order", async () => {
    const hook = await receiver();
    await hook.stop();
    const { router: r } = router();
    r.setNotifiers([
      webhookRoute("hook", hook, { maxRetries: 10_000, initialBackoffMs: 5, maxBackoffMs: 25 }),
    ]);
    const sent = Array.from({ length: 25 }, (_, i) => `e${i}`);
    for (const id of sent) r.publish(event(id));
    await waitFor(() => ok(r, "hook").retries >= 5, "several refused attempts");
    assert.equal(hook.requests.length, 0);
    await hook.restart();
    await waitFor(() => ok(r, "hook").delivered === sent.length, "all delivered after the receiver is back");
    assert.deepEqual(ids(hook), sent);
    const stats = ok(r, "hook");
    assert.equal(stats.failed, 0);
    assert.equal(stats.dropped, 0);
  });

  test("a slow receiver hits the per-attempt timeout and the event is retried", async () => {
    const hook = await receiver();
    let calls = 0;
    hook.respond((req, res) => (++calls === 1 ? undefined : answer(200)(req, res)));
    const { router: r } = router();
    r.setNotifiers([webhookRoute("hook", hook, { timeoutSeconds: 0.3 })]);
    const start = Date.now();
    r.publish(event("slow"));
    await waitFor(() => ok(r, "hook").delivered === 1, "delivery after a timeout");
    const [first, second] = hook.requests;
    assert.ok(second!.at - start >= 300, "the retry came only after the attempt timed out");
    assert.equal(first!.body, second!.body);
    assert.equal(ok(r, "hook").retries, hook.requests.length - 1);
  });

  test("a sink that ignores its abort signal or throws cannot wedge the queue", async () => {
    let calls = 0;
    const sink: NotifierSink = {
      type: "misbehaving",
      deliver(e) {
        calls++;
        if (e.id === "hang") return new Promise(() => {}); // never settles
        if (e.id === "throw") throw new Error("render bug");
        return Promise.resolve(DELIVERED);
      },
    };
    const { router: r } = router();
    r.setNotifiers([
      {
        name: "odd",
        sink,
        delivery: { maxRetries: 1, timeoutSeconds: 0.05, initialBackoffMs: 1, ratePerSecond: 0 },
      },
    ]);
    r.publish(event("hang"));
    r.publish(event("throw"));
    r.publish(event("fine"));
    await waitFor(() => ok(r, "odd").delivered === 1, "the event after the bad ones");
    const stats = ok(r, "odd");
    assert.equal(stats.failed, 2);
    assert.equal(stats.retries, 2);
    assert.equal(calls, 5);
  });

  test("retries stop after maxRetries and the event is counted failed", async () => {
    const hook = await receiver();
    hook.respond(answer(500));
    const { router: r, registry } = router();
    r.setNotifiers([webhookRoute("hook", hook, { maxRetries: 2 })]);
    r.publish(event("doomed"));
    await waitFor(() => ok(r, "hook").failed === 1, "failure");
    assert.equal(hook.requests.length, 3);
    const text = await registry.metrics();
    assert.equal(metricValue(text, "patchbay_notifier_failed_total", 'notifier="hook"'), 1);
    assert.equal(metricValue(text, "patchbay_notifier_retries_total", 'notifier="hook"'), 2);
  });
});

describe("queueing and pacing", () => {
  test("a full queue drops its oldest event and counts it", async () => {
    const hook = await receiver();
    const held: ServerResponse[] = [];
    hook.respond((_req, res) => held.push(res));
    const { router: r, registry } = router();
    r.setNotifiers([webhookRoute("hook", hook, { queueSize: 3 })]);
    r.publish(event("1"));
    await waitFor(() => held.length === 1, "first event in flight");
    for (const id of ["2", "3", "4", "5", "6"]) r.publish(event(id));
    let stats = ok(r, "hook");
    assert.equal(stats.queued, 3);
    assert.equal(stats.inFlight, 1);
    assert.equal(stats.droppedByReason.overflow, 2);
    // The identity read off /metrics alone: routed = delivered + failed + dropped + queued + in flight.
    const during = await registry.metrics();
    const metric = (name: string) => metricValue(during, name, 'notifier="hook"') ?? 0;
    assert.equal(metric("patchbay_notifier_queue_depth"), 3);
    assert.equal(metric("patchbay_notifier_in_flight"), 1);
    assert.equal(
      metricValue(during, "patchbay_events_routed_total", 'source="src-a",notifier="hook"'),
      metric("patchbay_notifier_delivered_total") +
        metric("patchbay_notifier_failed_total") +
        (metricValue(during, "patchbay_notifier_dropped_total", 'notifier="hook",reason="overflow"') ?? 0) +
        metric("patchbay_notifier_queue_depth") +
        metric("patchbay_notifier_in_flight"),
    );
    hook.respond(answer(200));
    held[0]!.writeHead(200).end();
    await waitFor(() => ok(r, "hook").delivered === 4, "the rest delivered");
    assert.deepEqual(ids(hook), ["1", "4", "5", "6"]);
    stats = ok(r, "hook");
    assert.equal(stats.dropped, 2);
    const text = await registry.metrics();
    assert.equal(
      metricValue(text, "patchbay_notifier_dropped_total", 'notifier="hook",reason="overflow"'),
      2,
    );
    assert.equal(metricValue(text, "patchbay_notifier_delivered_total", 'notifier="hook"'), 4);
  });

  test("the token bucket paces requests to ratePerSecond after the burst", async () => {
    const hook = await receiver();
    const { router: r } = router();
    r.setNotifiers([webhookRoute("hook", hook, { ratePerSecond: 20, burst: 2 })]);
    const start = Date.now();
    for (let i = 0; i < 6; i++) r.publish(event(String(i)));
    await waitFor(() => ok(r, "hook").delivered === 6, "all delivered");
    // 2 at once, then one per 50 ms: the 6th is sent no sooner than 4 intervals after the first.
    const last = hook.requests[5]!.at - start;
    assert.ok(last >= 195, `the 6th request arrived ${last} ms after the first was published`);
  });

  test("accounting holds exactly at every moment of a run with successes, 500s, timeouts, 400s and drops", async () => {
    const hook = await receiver();
    const flaky = new Map<string, number>();
    hook.respond((req, res) => {
      const { id } = JSON.parse(req.body) as { id: string };
      const kind = id.split("-")[0];
      if (kind === "ok") return answer(200)(req, res);
      if (kind === "bad") return answer(400, {}, "no")(req, res);
      if (kind === "down") return answer(500)(req, res);
      if (kind === "slow") return; // never answers: the attempt times out
      const seen = (flaky.get(id) ?? 0) + 1;
      flaky.set(id, seen);
      answer(seen < 2 ? 503 : 200)(req, res);
    });
    const { router: r, registry } = router();
    r.setNotifiers([webhookRoute("hook", hook, { queueSize: 4, maxRetries: 2, timeoutSeconds: 0.05 })]);
    let violations = 0;
    const sampler = setInterval(() => {
      if (!balanced(r.stats().notifiers.hook!)) violations++;
    }, 1);
    cleanups.push(() => clearInterval(sampler));
    // 8 at once into a queue of 4: the 4 oldest are dropped before the loop takes one.
    for (const id of ["ok-0", "ok-1", "ok-2", "ok-3", "ok-4", "down-5", "slow-6", "bad-7"]) {
      assert.equal(r.publish(event(id)), "routed");
      // The count of the first batch's survivors and the order of delivery are fixed: ok-4, down-5, slow-6, bad-7.
      assert.ok(balanced(r.stats().notifiers.hook!));
    }
    for (const id of ["flaky-8", "ok-9", "bad-10", "down-11", "ok-12"]) {
      await waitFor(() => r.stats().notifiers.hook!.queued < 3, "room in the queue");
      r.publish(event(id));
    }
    await waitFor(() => {
      const s = r.stats().notifiers.hook!;
      return s.queued === 0 && s.inFlight === 0;
    }, "the run to finish");
    clearInterval(sampler);
    const stats = ok(r, "hook");
    assert.equal(violations, 0);
    assert.equal(stats.received, 13);
    assert.equal(stats.droppedByReason.overflow, 4);
    assert.equal(stats.delivered, 4, JSON.stringify(stats)); // ok-4, flaky-8 (after a 503), ok-9, ok-12
    assert.equal(stats.failed, 5, JSON.stringify(stats)); // down-5, slow-6 (retries exhausted), bad-7, bad-10 (permanent), down-11
    assert.equal(stats.delivered + stats.failed + stats.dropped, 13);
    const order = ["ok-4", "down-5", "slow-6", "bad-7", "flaky-8", "ok-9", "bad-10", "down-11", "ok-12"];
    assert.deepEqual([...new Set(ids(hook))], order);
    assert.equal(hook.requests.length, 16); // down and slow: 3 attempts each; flaky: 2; the rest: 1
    const text = await registry.metrics();
    assert.equal(metricValue(text, "patchbay_events_routed_total", 'source="src-a",notifier="hook"'), 13);
    assert.equal(metricValue(text, "patchbay_notifier_delivered_total", 'notifier="hook"'), stats.delivered);
    assert.equal(metricValue(text, "patchbay_notifier_failed_total", 'notifier="hook"'), stats.failed);
    assert.ok(
      (metricValue(text, "patchbay_notifier_delivery_duration_seconds_count", 'notifier="hook"') ?? 0) > 0,
    );
  });
});

describe("live configuration and shutdown", () => {
  test("setNotifiers adds, updates in place (keeping the queue) and removes (counting what it held)", async () => {
    const hook = await receiver();
    const other = await receiver();
    const held: ServerResponse[] = [];
    hook.respond((_req, res) => held.push(res));
    const { router: r, registry } = router();
    r.setNotifiers([webhookRoute("a", hook)]);
    r.publish(event("1"));
    await waitFor(() => held.length === 1, "first in flight");
    r.publish(event("2"));
    r.publish(event("3", { type: "other.type" }));
    // Update a: only dev.* types from now on; add b. a's queue (2, 3) is kept.
    r.setNotifiers([webhookRoute("a", hook, {}, { filter: { types: ["dev.*"] } }), webhookRoute("b", other)]);
    assert.equal(ok(r, "a").queued, 2);
    assert.equal(r.publish(event("4", { type: "other.type" })), "routed"); // b only
    r.publish(event("5"));
    hook.respond(answer(200));
    held[0]!.writeHead(200).end();
    await waitFor(
      () => ok(r, "a").delivered === 4 && ok(r, "b").delivered === 2,
      "deliveries after the update",
    );
    assert.deepEqual(ids(hook), ["1", "2", "3", "5"]);
    assert.deepEqual(ids(other), ["4", "5"]);
    // Remove a while it holds events: they are counted dropped, reason "removed".
    hook.respond(() => {});
    r.publish(event("6"));
    r.publish(event("7"));
    await waitFor(() => hook.requests.length === 5, "6 in flight");
    r.setNotifiers([webhookRoute("b", other)]);
    assert.equal(r.stats().notifiers.a, undefined);
    assert.equal(
      metricValue(
        await registry.metrics(),
        "patchbay_notifier_dropped_total",
        'notifier="a",reason="removed"',
      ),
      2,
    );
    await waitFor(() => ok(r, "b").delivered === 4, "b keeps delivering");
  });

  test("an invalid route is rejected with a clear error and changes nothing", async () => {
    const hook = await receiver();
    const { router: r } = router();
    r.setNotifiers([webhookRoute("a", hook)]);
    assert.throws(
      () => r.setNotifiers([webhookRoute("b", hook, {}, { filter: { subject: "([" } })]),
      /notifier "b": filter\.subject: not a valid regular expression/,
    );
    assert.throws(
      () => r.setNotifiers([webhookRoute("a", hook), webhookRoute("a", hook)]),
      /"a" is listed twice/,
    );
    assert.deepEqual(Object.keys(r.stats().notifiers), ["a"]);
  });

  test("drain delivers what is queued, then refuses new events", async () => {
    const hook = await receiver();
    hook.respond((req, res) => setTimeout(() => answer(200)(req, res), 10));
    const { router: r } = router();
    r.setNotifiers([webhookRoute("hook", hook)]);
    for (let i = 0; i < 10; i++) r.publish(event(String(i)));
    const stats = await r.drain(5000);
    assert.equal(stats.notifiers.hook!.delivered, 10);
    assert.equal(stats.notifiers.hook!.dropped, 0);
    assert.equal(r.publish(event("late")), "rejected");
    assert.equal(r.stats().rejected, 1);
    assert.throws(() => r.setNotifiers([]), /draining/);
  });

  test("drain stops at its deadline and counts the rest as dropped for shutdown", async () => {
    const hook = await receiver();
    hook.respond(() => {}); // never answers
    const { router: r, registry } = router();
    const sink: NotifierSink = { type: "noop", deliver: () => Promise.resolve(DELIVERED) };
    r.setNotifiers([webhookRoute("stuck", hook, { timeoutSeconds: 30 }), { name: "fast", sink }]);
    for (let i = 0; i < 5; i++) r.publish(event(String(i)));
    const started = Date.now();
    const stats = await r.drain(150);
    const took = Date.now() - started;
    assert.ok(took >= 140 && took < 2000, `drain took ${took} ms`);
    const stuck = stats.notifiers.stuck!;
    assert.equal(stuck.droppedByReason.shutdown, 5);
    assert.equal(stuck.queued + stuck.inFlight, 0);
    assert.ok(balanced(stuck));
    assert.equal(stats.notifiers.fast!.delivered, 5);
    assert.equal(
      metricValue(
        await registry.metrics(),
        "patchbay_notifier_dropped_total",
        'notifier="stuck",reason="shutdown"',
      ),
      5,
    );
  });
});
