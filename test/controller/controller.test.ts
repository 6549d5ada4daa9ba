import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Registry } from "prom-client";
import { Controller, ItemExponentialFailureRateLimiter, type ObjectKey } from "../../src/controller/index.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { waitFor } from "../support/wait.ts";

const log = createLogger("controller-test", "error");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function sampleValue(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  const sample = metric?.values.find((value) =>
    Object.entries(labels).every(([k, v]) => value.labels[k] === v),
  );
  return sample?.value ?? Number.NaN;
}

describe("Controller", () => {
  it("never reconciles one key twice at once, even with several workers and a flood of re-adds", async () => {
    const active = new Set<string>();
    let overlaps = 0;
    let maxParallel = 0;
    const counts = new Map<string, number>();
    const controller = new Controller({
      name: "overlap",
      maxConcurrentReconciles: 4,
      log,
      reconciler: {
        async reconcile(key: ObjectKey) {
          const id = `${key.namespace}/${key.name}`;
          if (active.has(id)) overlaps++;
          active.add(id);
          maxParallel = Math.max(maxParallel, active.size);
          await sleep(5 + Math.random() * 10);
          active.delete(id);
          counts.set(id, (counts.get(id) ?? 0) + 1);
        },
      },
    });
    const stop = new AbortController();
    const running = controller.start(stop.signal);
    const keys = ["a", "b", "c", "d", "e", "f"].map((name) => ({ namespace: "ns", name }));
    for (let round = 0; round < 30; round++) {
      for (const key of keys) controller.enqueue(key);
      await sleep(2);
    }
    await waitFor(() => active.size === 0 && [...counts.values()].reduce((a, b) => a + b, 0) >= 12, {
      what: "reconciles to settle",
    });
    await sleep(50);
    stop.abort();
    await running;
    assert.equal(overlaps, 0, "a key was reconciled by two workers at the same time");
    assert.ok(maxParallel > 1, `different keys ran in parallel (max ${maxParallel})`);
    assert.equal(counts.size, keys.length, "every key was reconciled");
  });

  it("retries a failing key with growing backoff, forgets it on success, and requeues after the asked delay", async () => {
    const registry = new Registry();
    const attempts: number[] = [];
    let polls = 0;
    const controller = new Controller({
      name: "retry",
      registry,
      log,
      rateLimiter: new ItemExponentialFailureRateLimiter(20, 1000),
      reconciler: {
        async reconcile(key: ObjectKey) {
          if (key.name === "poll") {
            polls++;
            return polls < 3 ? { requeueAfterMs: 30 } : undefined;
          }
          attempts.push(performance.now());
          if (attempts.length < 4) throw new Error(`attempt ${attempts.length} failed`);
        },
      },
    });
    const stop = new AbortController();
    const running = controller.start(stop.signal);
    controller.enqueue({ namespace: "ns", name: "flaky" });
    controller.enqueue({ name: "poll" });
    await waitFor(() => attempts.length === 4 && polls === 3, { what: "4 attempts and 3 polls" });
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
    for (const [i, expected] of [20, 40, 80].entries()) {
      assert.ok(gaps[i]! >= expected - 2, `gap ${i} was ${gaps[i]} ms, expected ≥ ${expected}`);
    }
    const labels = { controller: "retry" };
    assert.equal(await sampleValue(registry, "controller_runtime_reconcile_errors_total", labels), 3);
    assert.equal(
      await sampleValue(registry, "controller_runtime_reconcile_total", { ...labels, result: "error" }),
      3,
    );
    assert.equal(
      await sampleValue(registry, "controller_runtime_reconcile_total", { ...labels, result: "success" }),
      2,
    );
    assert.equal(
      await sampleValue(registry, "controller_runtime_reconcile_total", {
        ...labels,
        result: "requeue_after",
      }),
      2,
    );
    assert.equal(await sampleValue(registry, "controller_runtime_max_concurrent_reconciles", labels), 1);
    assert.equal(await sampleValue(registry, "workqueue_retries_total", { name: "retry" }), 3);
    const metrics = await registry.metrics();
    assert.match(metrics, /controller_runtime_reconcile_time_seconds_count\{controller="retry"\} 7/);
    assert.match(metrics, /controller_runtime_active_workers\{controller="retry"\} 0/);
    stop.abort();
    await running;
  });

  it("passes an aborting signal to a running reconcile and resolves start() once workers stop", async () => {
    let sawAbort = false;
    const controller = new Controller({
      name: "abort",
      log,
      reconciler: {
        reconcile: (_key, signal) =>
          new Promise<void>((resolve) =>
            signal.addEventListener("abort", () => {
              sawAbort = true;
              resolve();
            }),
          ),
      },
    });
    const stop = new AbortController();
    const running = controller.start(stop.signal);
    controller.enqueue({ name: "slow" });
    await sleep(20);
    stop.abort();
    await running;
    assert.equal(sawAbort, true);
    controller.enqueue({ name: "ignored" });
    // and it can be started again (e.g. after regaining leadership)
    const again = new AbortController();
    const rerun = controller.start(again.signal);
    again.abort();
    await rerun;
  });

  it("does not count a reconcile that fails because it was stopped as an error, nor retry it", async () => {
    const registry = new Registry();
    let calls = 0;
    const controller = new Controller({
      name: "interrupted",
      log,
      registry,
      reconciler: {
        reconcile: (_key, signal) => {
          calls++;
          // Like a write fenced once leadership is lost: it fails because the run is stopping.
          return new Promise<void>((_resolve, reject) =>
            signal.addEventListener("abort", () => reject(new Error("not leading any more"))),
          );
        },
      },
    });
    const stop = new AbortController();
    const running = controller.start(stop.signal);
    controller.enqueue({ name: "mid-flight" });
    await waitFor(() => calls === 1, { what: "the reconcile to start" });
    stop.abort();
    await running;
    const errors = await sampleValue(registry, "controller_runtime_reconcile_errors_total", {
      controller: "interrupted",
    });
    assert.ok(!(errors > 0), `counted ${errors} reconcile errors`);
    assert.equal(calls, 1);
  });
});
