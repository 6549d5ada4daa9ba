/**
 * Issue 17: 100–300 concurrent commands reached one executor at once. The dispatcher now lets at most N
 * commands be in flight per executor, queues a bounded number more, and answers the rest "unavailable"
 * at once, naming the limit; the other executors are not slowed.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { Registry } from "prom-client";
import { ExecutorError, serveExecutor, type RunningPlugin } from "@patchbay/sdk";
import { CommandDispatcher, type CommandResult } from "../../src/commands/index.ts";
import { ExecutorSlots } from "../../src/commands/executor-slots.ts";
import { FakeExecutorDirectory } from "./fake-executors.ts";
import { GrpcExecutorDirectory } from "./grpc-executors.ts";
import { serveEcho } from "./echo-plugin.ts";

/** An executor that takes `ms` per command and records how many it was running at once. */
async function serveSlow(
  ms: number,
): Promise<{ plugin: RunningPlugin; running: () => number; peak: () => number; calls: () => number }> {
  let running = 0;
  let peak = 0;
  let calls = 0;
  const plugin = await serveExecutor(
    {
      name: "slow",
      version: "1.0.0",
      async execute({ signal }) {
        calls++;
        running++;
        peak = Math.max(peak, running);
        try {
          await sleep(ms, undefined, { signal });
          return "done";
        } catch {
          throw new ExecutorError("timeout", "cancelled by the caller");
        } finally {
          running--;
        }
      },
    },
    { inProcess: true, address: "127.0.0.1:0", shutdownGraceMs: 200 },
  );
  return { plugin, running: () => running, peak: () => peak, calls: () => calls };
}

describe("a concurrency limit per executor, over gRPC", () => {
  const LIMIT = 4;
  const WAITING = 8;
  let slow: Awaited<ReturnType<typeof serveSlow>>;
  let echo: RunningPlugin;
  let directory: GrpcExecutorDirectory;
  let dispatcher: CommandDispatcher;
  const registry = new Registry();

  before(async () => {
    slow = await serveSlow(300);
    echo = await serveEcho();
    directory = new GrpcExecutorDirectory([
      {
        name: "slow",
        address: slow.plugin.address,
        prefixes: ["slow"],
        aliases: {},
        ready: true,
        reason: "",
        timeoutMs: 5_000,
      },
      {
        name: "echo",
        address: echo.address,
        prefixes: ["echo"],
        aliases: {},
        ready: true,
        reason: "",
        timeoutMs: 2_000,
      },
    ]);
    dispatcher = new CommandDispatcher({
      executors: directory,
      registry,
      maxConcurrentPerExecutor: LIMIT,
      maxWaitingPerExecutor: WAITING,
    });
  });
  after(async () => {
    directory.close();
    await slow.plugin.close();
    await echo.close();
  });

  test("200 concurrent commands: at most N at the executor, a bounded queue, the rest refused at once", async () => {
    const started = performance.now();
    const answeredAt: number[] = [];
    const flood = Array.from({ length: 200 }, (_, i) =>
      dispatcher.dispatch({ command: `slow ${i}` }).then((result) => {
        answeredAt.push(performance.now() - started);
        return result;
      }),
    );
    // While the flood is on, another executor answers promptly.
    await sleep(50);
    const echoStarted = performance.now();
    const other = await dispatcher.dispatch({ command: "echo still here" });
    const echoMs = performance.now() - echoStarted;
    assert.deepEqual([other.status, other.output], ["ok", "still here"]);
    assert.ok(echoMs < 250, `echo took ${echoMs.toFixed(0)} ms during the flood`);
    const metrics = await registry.metrics();
    assert.match(
      metrics,
      new RegExp(`patchbay_executor_commands_in_flight\\{executor="slow"\\} ${LIMIT}\\b`),
    );
    assert.match(
      metrics,
      new RegExp(`patchbay_executor_commands_waiting\\{executor="slow"\\} ${WAITING}\\b`),
    );

    const results: CommandResult[] = await Promise.all(flood);
    const ok = results.filter((r) => r.status === "ok");
    const refused = results.filter((r) => r.status === "unavailable");
    assert.equal(ok.length, LIMIT + WAITING);
    assert.equal(refused.length, 200 - LIMIT - WAITING);
    assert.equal(slow.peak(), LIMIT, "never more than the limit in flight at the executor");
    assert.equal(slow.calls(), LIMIT + WAITING, "refused commands never reach the executor");
    for (const r of refused) {
      assert.equal(r.executor, "slow");
      assert.equal(
        r.error,
        `unavailable: "slow" is busy: it has reached the limit of ${LIMIT} commands in flight per executor (PATCHBAY_EXECUTOR_CONCURRENCY) and ${WAITING} waiting (PATCHBAY_EXECUTOR_QUEUE); try again shortly`,
      );
    }
    // The refusals came at once; the queued ones in three rounds of 300 ms.
    const sorted = answeredAt.sort((a, b) => a - b);
    assert.ok(
      sorted[refused.length - 1]! < 250,
      `refusals took up to ${sorted[refused.length - 1]!.toFixed(0)} ms`,
    );
    assert.ok(
      sorted.at(-1)! >= 900 && sorted.at(-1)! < 2_000,
      `last answer at ${sorted.at(-1)!.toFixed(0)} ms`,
    );

    // Once the flood is over the slots are free again.
    assert.equal((await dispatcher.dispatch({ command: "slow again" })).status, "ok");
    const after = await registry.metrics();
    assert.doesNotMatch(after, /patchbay_executor_commands_in_flight\{executor="slow"\} [1-9]/);
    assert.match(after, /patchbay_commands_total\{executor="slow",result="unavailable"\} 188/);
  });
});

describe("waiting for a slot", () => {
  const gate: (() => void)[] = [];
  const directory = new FakeExecutorDirectory([
    {
      name: "gated",
      prefixes: ["gated"],
      timeoutMs: 200,
      run: () =>
        new Promise((resolve) =>
          gate.push(() => resolve({ output: "opened", errorCode: "ok", errorMessage: "" })),
        ),
    },
    {
      name: "hung",
      prefixes: ["hung"],
      timeoutMs: 50,
      run: () => new Promise(() => {}),
    },
    {
      name: "throws",
      prefixes: ["throws"],
      run: () => {
        throw Object.assign(new Error("no client"), { code: "unavailable" });
      },
    },
  ]);

  test("the wait counts against the executor's timeout, and ends in a clear refusal", async () => {
    const dispatcher = new CommandDispatcher({
      executors: directory,
      maxConcurrentPerExecutor: 1,
      maxWaitingPerExecutor: 1,
      timeoutGraceMs: 1_000,
    });
    const first = dispatcher.dispatch({ command: "gated one" });
    await sleep(20);
    const second = dispatcher.dispatch({ command: "gated two" });
    await sleep(100);
    gate.shift()!();
    assert.equal((await first).output, "opened");
    await sleep(5);
    // The second got the slot after ~100 ms of its 200: the executor is told what is left.
    const deadline = directory.calls.at(-1)!.deadlineMs;
    assert.ok(deadline > 50 && deadline <= 120, `deadline ${deadline}`);
    gate.shift()!();
    assert.equal((await second).status, "ok");

    const holder = dispatcher.dispatch({ command: "gated three" });
    const waiter = await dispatcher.dispatch({ command: "gated four" });
    assert.equal(waiter.status, "unavailable");
    assert.match(
      waiter.error,
      /^unavailable: "gated" is busy: no slot freed up within \d+ ms under the limit of 1 commands in flight per executor \(PATCHBAY_EXECUTOR_CONCURRENCY\) and 1 waiting \(PATCHBAY_EXECUTOR_QUEUE\); try again shortly$/,
    );
    gate.shift()!();
    assert.equal((await holder).status, "ok");
  });

  test("a call that never settles frees its slot at the deadline; a call that throws frees it at once", async () => {
    const dispatcher = new CommandDispatcher({
      executors: directory,
      maxConcurrentPerExecutor: 1,
      maxWaitingPerExecutor: 0,
      timeoutGraceMs: 20,
    });
    assert.equal((await dispatcher.dispatch({ command: "hung" })).status, "timeout");
    assert.equal((await dispatcher.dispatch({ command: "hung" })).status, "timeout");
    assert.match((await dispatcher.dispatch({ command: "throws" })).error, /^unavailable: no client$/);
    assert.match((await dispatcher.dispatch({ command: "throws" })).error, /^unavailable: no client$/);
  });

  test("defaults are sane and bad limits are refused with a message naming them", () => {
    const slots = new ExecutorSlots({ maxInFlight: 1, maxWaiting: 0 });
    assert.deepEqual(slots.limits, { maxInFlight: 1, maxWaiting: 0 });
    assert.throws(
      () => new ExecutorSlots({ maxInFlight: 0, maxWaiting: 1 }),
      /concurrency limit must be a whole number >= 1, not 0/,
    );
    assert.throws(
      () => new ExecutorSlots({ maxInFlight: 1.5, maxWaiting: 1 }),
      /concurrency limit .* not 1\.5/,
    );
    assert.throws(
      () => new ExecutorSlots({ maxInFlight: 1, maxWaiting: -1 }),
      /wait queue must be a whole number >= 0, not -1/,
    );
    assert.throws(() => new ExecutorSlots({ maxInFlight: 1, maxWaiting: 0.5 }), /wait queue .* not 0\.5/);
  });
});

describe("executor slots", () => {
  test("a freed slot goes to the longest waiter; release twice frees once", async () => {
    const slots = new ExecutorSlots({ maxInFlight: 1, maxWaiting: 2 });
    const first = await slots.acquire("x", 1_000);
    assert.ok("release" in first);
    const order: string[] = [];
    const a = slots.acquire("x", 1_000).then((slot) => (order.push("a"), slot));
    const b = slots.acquire("x", 1_000).then((slot) => (order.push("b"), slot));
    assert.deepEqual(await slots.acquire("x", 1_000), { kind: "queue-full" });
    assert.deepEqual([slots.inFlight("x"), slots.waiting("x")], [1, 2]);
    // Another executor is not affected.
    assert.ok("release" in (await slots.acquire("y", 1_000)));
    first.release();
    first.release();
    const slotA = await a;
    assert.deepEqual(order, ["a"]);
    assert.deepEqual([slots.inFlight("x"), slots.waiting("x")], [1, 1]);
    assert.ok("release" in slotA);
    slotA.release();
    const slotB = await b;
    assert.ok("release" in slotB);
    slotB.release();
    assert.deepEqual([slots.inFlight("x"), slots.waiting("x")], [0, 0]);
    assert.deepEqual([...slots.busy()], [["y", 1, 0]]);
  });

  test("a release while others are still in flight keeps counting them", async () => {
    const slots = new ExecutorSlots({ maxInFlight: 2, maxWaiting: 0 });
    const a = await slots.acquire("x", 1_000);
    const b = await slots.acquire("x", 1_000);
    assert.ok("release" in a && "release" in b);
    a.release();
    assert.equal(slots.inFlight("x"), 1);
    assert.ok("release" in (await slots.acquire("x", 1_000)));
    assert.deepEqual(await slots.acquire("x", 1_000), { kind: "queue-full" });
  });

  test("a waiter granted a slot no longer times out, nor takes another waiter's place", async () => {
    const slots = new ExecutorSlots({ maxInFlight: 1, maxWaiting: 2 });
    const held = await slots.acquire("x", 1_000);
    const first = slots.acquire("x", 40);
    assert.ok("release" in held);
    held.release();
    const granted = await first;
    assert.ok("release" in granted);
    const second = slots.acquire("x", 1_000);
    await sleep(80);
    assert.equal(
      slots.waiting("x"),
      1,
      "the second waiter is still queued after the first's wait would have ended",
    );
    granted.release();
    assert.ok("release" in (await second));
  });

  test("a waiter that times out leaves the queue, and reports how long it waited", async () => {
    const slots = new ExecutorSlots({ maxInFlight: 1, maxWaiting: 2 });
    const held = await slots.acquire("x", 1_000);
    const late = slots.acquire("x", 30);
    const patient = slots.acquire("x", 1_000);
    const refusal = await late;
    assert.equal("kind" in refusal && refusal.kind, "wait-timeout");
    assert.ok(
      "waitedMs" in refusal && refusal.waitedMs >= 25 && refusal.waitedMs < 500,
      JSON.stringify(refusal),
    );
    assert.equal(slots.waiting("x"), 1);
    assert.ok("release" in held);
    held.release();
    assert.ok("release" in (await patient));
  });
});
