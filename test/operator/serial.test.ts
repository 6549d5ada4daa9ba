import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SerialRunner } from "../../src/operator/serial.ts";

/** A task whose runs finish when the test says so. */
function gatedTask() {
  const gates: (() => void)[] = [];
  let started = 0;
  let running = 0;
  let overlapped = false;
  const runner = new SerialRunner(async () => {
    const run = ++started;
    running++;
    overlapped ||= running > 1;
    await new Promise<void>((resolve) => gates.push(resolve));
    running--;
    return run;
  });
  const release = async () => {
    while (gates.length === 0) await new Promise((resolve) => setImmediate(resolve));
    gates.shift()!();
  };
  return { runner, release, started: () => started, overlapped: () => overlapped };
}

describe("SerialRunner", () => {
  it("runs one at a time; requests during a run share one later run that starts after them", async () => {
    const task = gatedTask();
    const first = task.runner.run();
    assert.equal(task.runner.run(), first, "a request before the queued run starts joins it");
    while (task.started() === 0) await new Promise((resolve) => setImmediate(resolve));
    const second = task.runner.run();
    const third = task.runner.run();
    assert.notEqual(second, first);
    assert.equal(second, third, "requests while a run is in progress join one queued run");
    await task.release();
    assert.equal(await first, 1);
    await task.release();
    assert.equal(await second, 2);
    assert.equal(task.started(), 2);
    assert.equal(task.overlapped(), false);
  });

  it("keeps going after a run fails", async () => {
    let calls = 0;
    const runner = new SerialRunner(async () => {
      calls++;
      if (calls === 1) throw new Error("first fails");
      return calls;
    });
    await assert.rejects(runner.run(), /first fails/);
    assert.equal(await runner.run(), 2);
  });
});
