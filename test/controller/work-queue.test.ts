import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Registry } from "prom-client";
import {
  BucketRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  WorkQueue,
  defaultControllerRateLimiter,
} from "../../src/controller/index.ts";

async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const base = name.replace(/_(count|sum)$/, "");
  const metric = await registry.getSingleMetric(base)?.get();
  const sample = metric?.values.find(
    (value) =>
      ((value as { metricName?: string }).metricName ?? base) === name &&
      Object.entries(labels).every(([k, v]) => value.labels[k] === v),
  );
  return sample?.value ?? Number.NaN;
}

describe("WorkQueue", () => {
  it("deduplicates a key added while it is waiting", async () => {
    const queue = new WorkQueue({ name: "dedup" });
    queue.add("ns/a");
    queue.add("ns/b");
    queue.add("ns/a");
    assert.equal(queue.length, 2);
    assert.equal(await queue.get(), "ns/a");
    assert.equal(await queue.get(), "ns/b");
    assert.equal(queue.length, 0);
    queue.shutDown();
  });

  it("does not hand out a key being processed; re-adding marks it dirty and it returns on done()", async () => {
    const queue = new WorkQueue({ name: "dirty" });
    queue.add("a");
    assert.equal(await queue.get(), "a");
    queue.add("a");
    queue.add("a");
    assert.equal(queue.length, 0, "a key in processing is not queued again");
    let handedOut = false;
    const second = queue.get().then((key) => ((handedOut = true), key));
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(handedOut, false, "a second worker must not receive the key while it is processed");
    queue.done("a");
    assert.equal(await second, "a", "the dirty key is handed out again on done()");
    assert.equal(queue.length, 0, "and only once");
    queue.done("a");
    assert.equal(queue.length, 0, "done() without a re-add does not queue it again");
    queue.shutDown();
  });

  it("wakes a waiting get() on add, and releases waiters with undefined on shutDown", async () => {
    const queue = new WorkQueue({ name: "waiters" });
    const first = queue.get();
    const second = queue.get();
    queue.add("x");
    assert.equal(await first, "x");
    queue.shutDown();
    assert.equal(await second, undefined);
    queue.add("y");
    assert.equal(queue.length, 0, "adds after shutDown are ignored");
    assert.equal(await queue.get(), undefined);
  });

  it("addAfter delays a key and keeps the earliest of several delays", async () => {
    const queue = new WorkQueue({ name: "after" });
    const start = performance.now();
    queue.addAfter("k", 400);
    queue.addAfter("k", 40);
    queue.addAfter("k", 300);
    assert.equal(await queue.get(), "k");
    const waited = performance.now() - start;
    assert.ok(waited >= 35 && waited < 290, `waited ${waited} ms: the earliest delay (40 ms) did not win`);
    queue.done("k");
    // Past the 300 ms delay that was also asked for: it must not add the key a second time.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, start + 450 - performance.now())));
    assert.equal(queue.length, 0, "the later delays were dropped, not added again");
    queue.shutDown();
  });

  it("backs off each key exponentially on addRateLimited and starts afresh after forget", async () => {
    const queue = new WorkQueue({ name: "backoff", baseDelayMs: 20, maxDelayMs: 1000 });
    const delays: number[] = [];
    for (let attempt = 0; attempt < 4; attempt++) {
      const start = performance.now();
      queue.addRateLimited("flaky");
      assert.equal(await queue.get(), "flaky");
      delays.push(performance.now() - start);
      queue.done("flaky");
    }
    assert.equal(queue.numRequeues("flaky"), 4);
    // 20, 40, 80, 160 ms (timers may fire a millisecond early)
    for (const [i, expected] of [20, 40, 80, 160].entries()) {
      assert.ok(delays[i]! >= expected - 2, `retry ${i}: ${delays[i]} ms < ${expected} ms`);
    }
    assert.ok(delays[3]! < 400, `retry 3 took ${delays[3]} ms`);
    queue.forget("flaky");
    assert.equal(queue.numRequeues("flaky"), 0);
    const start = performance.now();
    queue.addRateLimited("flaky");
    await queue.get();
    const afterForget = performance.now() - start;
    assert.ok(afterForget < 80, `after forget the delay is the base again, took ${afterForget} ms`);
    queue.shutDown();
  });

  it("applies the global token bucket across keys", async () => {
    // No per-key backoff to speak of: only the bucket (burst 2, 20 per second) spaces the keys.
    const queue = new WorkQueue({ name: "bucket", baseDelayMs: 1, maxDelayMs: 1, qps: 20, burst: 2 });
    const start = performance.now();
    for (const key of ["a", "b", "c", "d", "e"]) queue.addRateLimited(key);
    const arrivals: number[] = [];
    for (let i = 0; i < 5; i++) {
      const key = await queue.get();
      arrivals.push(performance.now() - start);
      queue.done(key!);
    }
    assert.ok(arrivals[1]! < 40, `the burst passes at once: ${arrivals}`);
    // c, d, e wait for tokens at 50, 100, 150 ms
    assert.ok(
      arrivals[4]! >= 145,
      `the fifth key came after ${arrivals[4]} ms, before the bucket allowed it`,
    );
    assert.ok(arrivals[4]! < 400, `the fifth key came after ${arrivals[4]} ms`);
    queue.shutDown();
  });

  it("exports client-go's workqueue metrics under the queue's name", async () => {
    const registry = new Registry();
    const queue = new WorkQueue({ name: "measured", registry, baseDelayMs: 1 });
    queue.add("a");
    queue.add("b");
    queue.add("a");
    assert.equal(await metricValue(registry, "workqueue_depth", { name: "measured" }), 2);
    assert.equal(await metricValue(registry, "workqueue_adds_total", { name: "measured" }), 2);
    const key = await queue.get();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(
      (await metricValue(registry, "workqueue_longest_running_processor_seconds", { name: "measured" })) >=
        0.015,
    );
    assert.ok(
      (await metricValue(registry, "workqueue_unfinished_work_seconds", { name: "measured" })) >= 0.015,
    );
    queue.done(key!);
    queue.addRateLimited("c");
    assert.equal(await metricValue(registry, "workqueue_retries_total", { name: "measured" }), 1);
    assert.equal(
      await metricValue(registry, "workqueue_work_duration_seconds_count", { name: "measured" }),
      1,
    );
    assert.equal(
      await metricValue(registry, "workqueue_queue_duration_seconds_count", { name: "measured" }),
      1,
    );
    const metrics = await registry.metrics();
    assert.match(metrics, /workqueue_depth\{name="measured"\} 1/);
    // A second queue on the same registry shares the metrics, told apart by name.
    const other = new WorkQueue({ name: "other", registry });
    other.add("z");
    assert.equal(await metricValue(registry, "workqueue_depth", { name: "other" }), 1);
    queue.shutDown();
    other.shutDown();
  });
});

describe("rate limiters", () => {
  it("ItemExponentialFailureRateLimiter doubles per failure, caps, and counts per item", () => {
    const limiter = new ItemExponentialFailureRateLimiter(5, 100);
    assert.deepEqual(
      Array.from({ length: 7 }, () => limiter.when("a")),
      [5, 10, 20, 40, 80, 100, 100],
    );
    assert.equal(limiter.when("b"), 5, "items back off independently");
    assert.equal(limiter.numRequeues("a"), 7);
    limiter.forget("a");
    assert.equal(limiter.numRequeues("a"), 0);
    assert.equal(limiter.when("a"), 5);
  });

  it("BucketRateLimiter lets a burst through, then spaces requests at qps, and refills with time", () => {
    let now = 0;
    const limiter = new BucketRateLimiter(10, 3, () => now);
    assert.deepEqual(
      Array.from({ length: 5 }, () => Math.round(limiter.when())),
      [0, 0, 0, 100, 200],
    );
    now = 10_000;
    assert.equal(limiter.when(), 0, "the bucket refilled");
  });

  it("the default controller limiter is the max of both, with client-go's defaults", () => {
    const limiter = defaultControllerRateLimiter();
    assert.equal(limiter.when("a"), 5);
    assert.equal(limiter.when("a"), 10);
    for (let i = 0; i < 40; i++) limiter.when("a");
    assert.equal(limiter.when("a"), 1_000_000, "capped at 1000 s");
    const max = new MaxOfRateLimiter(
      new ItemExponentialFailureRateLimiter(1, 10),
      new BucketRateLimiter(1, 1, () => 0),
    );
    assert.equal(max.when("x"), 1, "first: the bucket has a token, the item backoff is 1 ms");
    assert.equal(max.when("y"), 1000, "second: the empty bucket dominates");
  });
});
