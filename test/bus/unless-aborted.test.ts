/**
 * A subscription races each delivery's handler against its stop signal. The race must leave nothing
 * behind per delivery: racing against one promise kept for the subscription's life grew the host
 * ~35 MiB per 250,000 events on the JetStream bus (bench/memory.ts).
 */
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { describe, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { MemoryBus, type Settlement } from "../../src/bus/index.ts";
import { unlessAborted } from "../../src/bus/unless-aborted.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { event, waitFor } from "./helpers.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe("unlessAborted", () => {
  test("the work's answer when it comes first; the listener is removed", async () => {
    const controller = new AbortController();
    assert.equal(await unlessAborted(Promise.resolve("done"), controller.signal, "aborted"), "done");
    assert.equal(getEventListeners(controller.signal, "abort").length, 0);
  });

  test("the work's failure is the caller's; the listener is removed", async () => {
    const controller = new AbortController();
    await assert.rejects(unlessAborted(Promise.reject(new Error("boom")), controller.signal, "x"), /boom/);
    assert.equal(getEventListeners(controller.signal, "abort").length, 0);
  });

  test("the abort answer as soon as the signal aborts, though the work never settles", async () => {
    const controller = new AbortController();
    const answer = unlessAborted(new Promise<string>(() => {}), controller.signal, "aborted");
    assert.equal(getEventListeners(controller.signal, "abort").length, 1);
    controller.abort();
    assert.equal(await answer, "aborted");
    assert.equal(getEventListeners(controller.signal, "abort").length, 0);
  });

  test("already aborted: the abort answer at once, and a later failure of the work is not unhandled", async () => {
    const controller = new AbortController();
    controller.abort();
    let reject!: (error: Error) => void;
    const work = new Promise<string>((_, r) => (reject = r));
    assert.equal(await unlessAborted(work, controller.signal, "aborted"), "aborted");
    reject(new Error("late"));
    await new Promise((resolve) => setImmediate(resolve));
  });

  test("a subscription keeps nothing per delivery: 40,000 deliveries leave the heap where it was", async () => {
    // A dedup window of 100 entries, so the bus itself holds nothing per event either.
    const bus = new MemoryBus({ dedup: { maxEntries: 100 }, log: createLogger("bus-test", "error") });
    let delivered = 0;
    await bus.subscribe("hook", async (): Promise<Settlement> => {
      delivered++;
      return { kind: "ack" };
    });
    // In steps within the subscription's queue (1,000 by default; beyond it the oldest is dropped).
    const post = async (from: number, count: number) => {
      for (let step = from; step < from + count; step += 500) {
        for (let i = step; i < step + 500; i++) await bus.publish(event(String(i)));
        await waitFor(() => delivered === step + 500, { what: `${step + 500} deliveries` });
      }
    };
    try {
      await post(0, 5_000); // warm-up: code, metrics, the queue's first growth
      const before = heapAfterGc();
      await post(5_000, 40_000);
      const grown = heapAfterGc() - before;
      // The race against a promise kept for the subscription's life held ~250 bytes per delivery (10 MB here).
      assert.ok(grown < 2_000_000, `the heap grew ${(grown / 1e6).toFixed(1)} MB over 40,000 deliveries`);
    } finally {
      await bus.close();
    }
  });
});
