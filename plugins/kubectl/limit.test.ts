/** ProcessLimit on its own: slots handed over in order, a full queue turned away, a caller giving up. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Busy, ProcessLimit } from "./limit.ts";

/** A task that runs until released, recording how many run at once. */
function gate() {
  let release!: () => void;
  const done = new Promise<void>((resolve) => (release = resolve));
  return { release, task: () => done };
}

describe("ProcessLimit", () => {
  const limits = { maxConcurrent: 2, maxQueued: 1 };
  const never = new AbortController().signal;

  it("runs up to maxConcurrent at once, queues maxQueued, turns the rest away at once", async () => {
    const limit = new ProcessLimit();
    const gates = [gate(), gate(), gate()];
    const order: number[] = [];
    const runs = gates.map((g, i) => limit.run(() => (order.push(i), g.task()), limits, never));
    await assert.rejects(
      limit.run(async () => "never", limits, never),
      (err: Error) =>
        err instanceof Busy &&
        err.message ===
          "the kubectl executor is at its limit: 2 kubectl processes running (maxConcurrent 2) and 1 commands waiting (maxQueued 1); try again shortly",
    );
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(order, [0, 1]);
    gates[0]!.release();
    await runs[0];
    // The freed slot went to the one waiting, not to a newcomer: the next arrival still queues.
    const late = gate();
    const lateRun = limit.run(() => (order.push(3), late.task()), limits, never);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(order, [0, 1, 2]);
    gates[1]!.release();
    gates[2]!.release();
    late.release();
    await Promise.all([...runs, lateRun]);
    assert.deepEqual(order, [0, 1, 2, 3]);
  });

  it("lets a waiting caller give up, and frees its place in the queue", async () => {
    const limit = new ProcessLimit();
    const busy = gate();
    const first = limit.run(busy.task, { maxConcurrent: 1, maxQueued: 1 }, never);
    const caller = new AbortController();
    const waiting = limit.run(async () => "ran", { maxConcurrent: 1, maxQueued: 1 }, caller.signal);
    caller.abort(new Error("gave up"));
    await assert.rejects(waiting, /gave up/);
    // Its place is free again, and the slot goes to the next one in line once the first ends.
    const next = limit.run(async () => "next", { maxConcurrent: 1, maxQueued: 1 }, never);
    busy.release();
    await first;
    assert.equal(await next, "next");
    const already = AbortSignal.abort(new Error("too late"));
    const blocker = gate();
    const held = limit.run(blocker.task, { maxConcurrent: 1, maxQueued: 1 }, never);
    await assert.rejects(
      limit.run(async () => "x", { maxConcurrent: 1, maxQueued: 1 }, already),
      /too late/,
    );
    blocker.release();
    await held;
  });

  it("frees the slot when a task fails", async () => {
    const limit = new ProcessLimit();
    const one = { maxConcurrent: 1, maxQueued: 0 };
    await assert.rejects(
      limit.run(async () => Promise.reject(new Error("boom")), one, never),
      /boom/,
    );
    assert.equal(await limit.run(async () => "ok", one, never), "ok");
  });
});
