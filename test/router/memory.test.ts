import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { estimateEventBytes } from "../../src/router/index.ts";
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

const KIB = 1024;

/** An event whose estimate is `bytes` exactly: its data a string padded to fit. */
function sized(id: string, bytes: number) {
  const bare = estimateEventBytes(event(id, { data: "" }));
  return event(id, { data: "x".repeat(bytes - bare) });
}

async function heldReceiver(t: { after(fn: () => Promise<void>): void }): Promise<{
  hook: Receiver;
  held: ServerResponse[];
}> {
  const hook = await startReceiver();
  t.after(() => hook.close());
  const held: ServerResponse[] = [];
  hook.respond((_request, response) => held.push(response));
  return { hook, held };
}

describe("event size estimate", () => {
  test("is the length of the compact JSON for ASCII events, without serialising", () => {
    const shapes = [
      event("plain"),
      event("nested", {
        subject: "pod/web-1",
        severity: "warning",
        data: {
          n: 0,
          neg: -12,
          big: 1234567890,
          pi: 3,
          ok: true,
          no: false,
          nil: null,
          list: [1, "a", {}, []],
        },
      }),
      event("empty", { data: {} }),
      event("array", { data: [] }),
      event("text", { data: "hello world" }),
      event("ext", { region: "eu1", attempt: 3, replayed: false }),
    ];
    for (const shape of shapes)
      assert.equal(estimateEventBytes(shape), JSON.stringify(shape).length, shape.id);
  });

  test("leaves out what JSON leaves out, and bounds what it cannot measure cheaply", () => {
    const withUndefined = event("u", { subject: undefined, data: { a: undefined, b: 1 } });
    assert.equal(estimateEventBytes(withUndefined), JSON.stringify(withUndefined).length);
    const fraction =
      estimateEventBytes(event("f", { data: 0.1 })) - estimateEventBytes(event("f", { data: 0 }));
    assert.ok(fraction >= "0.1".length - 1 && fraction <= 24, String(fraction));
    // Non-finite numbers serialise as null.
    assert.equal(
      estimateEventBytes(event("n", { data: Number.NaN })),
      JSON.stringify(event("n", { data: null })).length,
    );
    let deep: unknown = "leaf";
    for (let i = 0; i < 500; i++) deep = [deep];
    assert.ok(estimateEventBytes(event("deep", { data: deep })) < 2_000);
  });
});

describe("queue bytes", () => {
  test("a notifier's queue keeps within its byte bound by dropping the oldest, counted by reason", async (t) => {
    const { hook, held } = await heldReceiver(t);
    const { router, registry } = newRouter({ notifierQueueBytes: 35 * KIB });
    router.setNotifiers([webhookRoute("hook", hook)]);
    router.publish(sized("0", 10 * KIB));
    await waitFor(() => held.length === 1, "first event in flight");
    for (let i = 1; i <= 6; i++) router.publish(sized(String(i), 10 * KIB));
    const stats = router.stats().notifiers.hook!;
    // 10 KiB each: three fit in 35 KiB; the count bound (1000) is nowhere near.
    assert.equal(stats.queued, 3);
    assert.equal(stats.queuedBytes, 30 * KIB);
    assert.equal(stats.droppedByReason["overflow-bytes"], 3);
    assert.equal(stats.droppedByReason.overflow, 0);
    assert.ok(balanced(stats));
    const text = await registry.metrics();
    assert.equal(metricValue(text, "patchbay_notifier_queue_bytes", 'notifier="hook"'), 30 * KIB);
    assert.equal(
      metricValue(text, "patchbay_notifier_dropped_total", 'notifier="hook",reason="overflow-bytes"'),
      3,
    );
    // Held: the one in flight and the three queued.
    assert.equal(router.memoryUse().bytes, 40 * KIB);
    assert.equal(metricValue(text, "patchbay_router_memory_bytes", ""), 40 * KIB);
    hook.respond(answer(200));
    held[0]!.writeHead(200).end();
    await waitFor(() => router.stats().notifiers.hook!.delivered === 4, "the rest delivered");
    assert.deepEqual(ids(hook), ["0", "4", "5", "6"]);
    assert.equal(router.memoryUse().bytes, 0);
    await router.drain(100);
  });

  test("an event larger than the whole bound is dropped on arrival and the queue kept", async (t) => {
    const { hook, held } = await heldReceiver(t);
    const { router } = newRouter({ notifierQueueBytes: 16 * KIB });
    router.setNotifiers([webhookRoute("hook", hook)]);
    router.publish(sized("first", KIB));
    await waitFor(() => held.length === 1, "first event in flight");
    router.publish(sized("small", KIB));
    router.publish(sized("huge", 17 * KIB));
    const stats = router.stats().notifiers.hook!;
    assert.deepEqual([stats.queued, stats.droppedByReason["overflow-bytes"]], [1, 1]);
    assert.equal(router.memoryUse().bytes, 2 * KIB);
    await router.drain(0);
    assert.equal(router.memoryUse().bytes, 0);
  });

  test("the count bound still applies, and a smaller bound on reconfiguration drops the oldest", async (t) => {
    const { hook, held } = await heldReceiver(t);
    const { router } = newRouter();
    router.setNotifiers([webhookRoute("hook", hook, { queueSize: 4 })]);
    router.publish(sized("0", KIB));
    await waitFor(() => held.length === 1, "first event in flight");
    for (let i = 1; i <= 6; i++) router.publish(sized(String(i), KIB));
    assert.equal(router.stats().notifiers.hook!.droppedByReason.overflow, 2);
    router.setNotifiers([webhookRoute("hook", hook, { queueSize: 2 })]);
    const stats = router.stats().notifiers.hook!;
    assert.deepEqual([stats.queued, stats.queuedBytes, stats.droppedByReason.overflow], [2, 2 * KIB, 4]);
    assert.equal(router.memoryUse().bytes, 3 * KIB);
    await router.drain(0);
  });
});

describe("memory held across the router", () => {
  test("an event routed to several notifiers counts once, and is released when the last lets go", async (t) => {
    const { hook: a, held: heldA } = await heldReceiver(t);
    const { hook: b, held: heldB } = await heldReceiver(t);
    const { router, registry } = newRouter({ memoryBudgetBytes: 100 * KIB });
    router.setNotifiers([webhookRoute("a", a), webhookRoute("b", b)]);
    router.publish(sized("shared", 8 * KIB));
    await waitFor(() => heldA.length === 1 && heldB.length === 1, "both in flight");
    assert.deepEqual(router.memoryUse(), { bytes: 8 * KIB, budgetBytes: 100 * KIB });
    heldA[0]!.writeHead(200).end();
    await waitFor(() => router.stats().notifiers.a!.delivered === 1, "a delivered");
    assert.equal(router.memoryUse().bytes, 8 * KIB, "b still holds it");
    heldB[0]!.writeHead(200).end();
    await waitFor(() => router.stats().notifiers.b!.delivered === 1, "b delivered");
    assert.equal(router.memoryUse().bytes, 0);
    const text = await registry.metrics();
    assert.equal(metricValue(text, "patchbay_router_memory_budget_bytes", ""), 100 * KIB);
    await router.drain(100);
  });

  test("removing a notifier or a failed delivery releases what it held", async (t) => {
    const { hook, held } = await heldReceiver(t);
    const failing = await startReceiver(answer(400));
    t.after(() => failing.close());
    const { router } = newRouter();
    router.setNotifiers([webhookRoute("hook", hook), webhookRoute("failing", failing)]);
    router.publish(sized("1", KIB));
    router.publish(sized("2", KIB));
    await waitFor(() => held.length === 1 && router.stats().notifiers.failing!.failed === 2, "failed twice");
    assert.equal(router.memoryUse().bytes, 2 * KIB);
    router.setNotifiers([]);
    assert.equal(router.memoryUse().bytes, 0);
    await router.drain(0);
  });

  test("byte limits must be positive", () => {
    assert.throws(() => newRouter({ memoryBudgetBytes: 0 }), /byte limit must be a positive number, not 0/);
    assert.throws(() => newRouter({ notifierQueueBytes: -1 }), /positive number, not -1/);
  });
});
