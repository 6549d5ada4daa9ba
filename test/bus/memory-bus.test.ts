/** The in-memory bus (the embedded default) and the pieces both buses share: names, retry policy, config. */
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { Registry } from "prom-client";
import {
  BusUnavailableError,
  EventBusConfigError,
  jetStreamOptions,
  MAX_RETRY_AFTER_MS,
  MemoryBus,
  messageId,
  nameToken,
  openEventBus,
  settlementFor,
  tokenToName,
} from "../../src/bus/index.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { event, recorder, waitFor } from "./helpers.ts";

const log = createLogger("bus-test", "error");
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function memoryBus(options: ConstructorParameters<typeof MemoryBus>[0] = {}): MemoryBus {
  const bus = new MemoryBus({ log, ...options });
  cleanups.push(() => bus.close());
  return bus;
}

describe("the memory bus", () => {
  test("stored, then duplicate within the window; the last id per source; selection at publish time", async () => {
    const bus = memoryBus();
    const all = recorder();
    const some = recorder();
    await bus.subscribe("all", all.handler);
    await bus.subscribe("some", some.handler, { select: (e) => e.source === "kube" });
    assert.equal(await bus.publish(event("1")), "stored");
    assert.equal(await bus.publish(event("1")), "duplicate");
    assert.equal(await bus.publish(event("1", "kube")), "stored");
    assert.equal(await bus.lastIdFor("demo"), "1");
    assert.equal(await bus.lastIdFor("kube"), "1");
    assert.equal(await bus.lastIdFor("nobody"), undefined);
    await waitFor(() => all.deliveries.length === 2 && some.deliveries.length === 1, { what: "deliveries" });
    // A delivery is counted once its handler's answer is settled, a moment after the handler ran.
    await waitFor(async () => (await bus.stats()).subscriptions.all!.acked === 2, { what: "acks" });
    const stats = await bus.stats();
    assert.equal(stats.subscriptions.all!.acked, 2);
    assert.equal(stats.subscriptions.some!.acked, 1);
    assert.equal(stats.subscriptions.some!.skipped, 0);
  });

  test("a retry waits in place, keeping the order; the last one goes to the dead letters", async () => {
    const bus = memoryBus();
    const policy = { maxRetries: 2, initialBackoffMs: 10, maxBackoffMs: 20 };
    const seen = recorder((d) =>
      d.event.id === "bad"
        ? settlementFor({ kind: "retry", reason: "429", retryAfterMs: 100 }, d.attempt, policy)
        : { kind: "ack" },
    );
    await bus.subscribe("hook", seen.handler);
    await bus.publish(event("bad"));
    await bus.publish(event("good"));
    await waitFor(() => seen.ids().includes("good"), { what: "good" });
    assert.deepEqual(
      seen.deliveries.map((d) => `${d.id}#${d.attempt}`),
      ["bad#1", "bad#2", "bad#3", "good#1"],
    );
    assert.ok(seen.deliveries[1]!.at - seen.deliveries[0]!.at >= 95);
    const [letter, ...rest] = await bus.deadLetters();
    assert.deepEqual(rest, []);
    assert.equal(letter!.event.id, "bad");
    assert.equal(letter!.attempts, 3);
    assert.match(letter!.reason, /gave up after 3 attempts: 429/);
    const stats = (await bus.stats()).subscriptions.hook!;
    assert.deepEqual([stats.acked, stats.retried, stats.deadLettered], [1, 2, 1]);
  });

  test("a full queue drops its oldest; accounting: selected = acked + dead letters + dropped + queued + in flight", async () => {
    const bus = memoryBus();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const seen = recorder(async () => {
      await gate;
      return { kind: "ack" };
    });
    await bus.subscribe("hook", seen.handler, { maxQueued: 3 });
    for (let i = 0; i < 10; i++) await bus.publish(event(`q${i}`));
    let stats = (await bus.stats()).subscriptions.hook!;
    // q0 in flight; q1..q6 dropped as q4..q9 arrived.
    assert.deepEqual([stats.ackPending, stats.pending, stats.dropped.overflow], [1, 3, 6]);
    release();
    await waitFor(() => seen.deliveries.length === 4, { what: "four deliveries" });
    assert.deepEqual(seen.ids(), ["q0", "q7", "q8", "q9"]);
    stats = (await bus.stats()).subscriptions.hook!;
    assert.equal(
      stats.acked + stats.deadLettered + stats.dropped.overflow + stats.pending + stats.ackPending,
      10,
    );
  });

  test("a handler that throws is retried; a subscription whose handler hangs can still be removed", async () => {
    const bus = memoryBus({ failedHandlerRetryMs: 10 });
    let calls = 0;
    await bus.subscribe("flaky", async () => {
      if (++calls === 1) throw new Error("bug");
      return { kind: "ack" };
    });
    await bus.publish(event("x"));
    await waitFor(() => calls === 2, { what: "the retry" });
    const hung = recorder(() => new Promise(() => {}));
    await bus.subscribe("hung", hung.handler);
    await bus.publish(event("y"));
    await bus.publish(event("z"));
    await waitFor(() => hung.deliveries.length === 1, { what: "y in flight" });
    await bus.removeSubscription("hung");
    assert.equal((await bus.stats()).subscriptions.hung, undefined);
  });

  test("close delivers what is queued within the drain time, then refuses events as unavailable", async () => {
    const registry = new Registry();
    const bus = new MemoryBus({ log, registry });
    const seen = recorder(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { kind: "ack" };
    });
    await bus.subscribe("hook", seen.handler);
    for (let i = 0; i < 20; i++) await bus.publish(event(`d${i}`));
    assert.match(await registry.metrics(), /patchbay_bus_pending\{notifier="hook"\} (19|18|20)/);
    await bus.close(5_000);
    assert.equal(seen.deliveries.length, 20);
    await assert.rejects(bus.publish(event("late")), BusUnavailableError);
  });
});

describe("names on the wire", () => {
  test("a name becomes one subject token, reversibly; ids with % or control characters stay distinct", () => {
    for (const name of ["team-slack", "kube.events", "a b*>", "x_y", "ü", "", "_2e_"]) {
      const token = nameToken(name);
      assert.match(token, /^[-\w]+$/, `${name} → ${token}`);
      assert.equal(tokenToName(token), name);
    }
    assert.equal(nameToken("team-slack"), "team-slack");
    assert.notEqual(nameToken("a.b"), nameToken("a_2e_b"));
    assert.equal(messageId("demo", "evt-1"), "demo/evt-1");
    assert.notEqual(messageId("s", "a\nb"), messageId("s", "a%0ab"));
    assert.doesNotMatch(messageId("s", "a\r\nb"), /[\r\n]/);
  });
});

describe("retry policy", () => {
  const policy = { maxRetries: 3, initialBackoffMs: 1_000, maxBackoffMs: 4_000 };

  test("backoff doubles with jitter in [half, full], capped; Retry-After wins, capped at an hour", () => {
    assert.deepEqual(settlementFor({ kind: "delivered" }, 1, policy), { kind: "ack" });
    const retry = (attempt: number, random: number) =>
      settlementFor({ kind: "retry", reason: "5xx" }, attempt, policy, () => random);
    assert.deepEqual(retry(1, 0), { kind: "retry", delayMs: 500 });
    assert.deepEqual(retry(1, 1), { kind: "retry", delayMs: 1_000 });
    assert.deepEqual(retry(2, 1), { kind: "retry", delayMs: 2_000 });
    assert.deepEqual(retry(3, 1), { kind: "retry", delayMs: 4_000 });
    assert.deepEqual(settlementFor({ kind: "retry", reason: "429", retryAfterMs: 7_000 }, 1, policy), {
      kind: "retry",
      delayMs: 7_000,
    });
    assert.deepEqual(
      settlementFor({ kind: "retry", reason: "429", retryAfterMs: 10 * MAX_RETRY_AFTER_MS }, 1, policy),
      { kind: "retry", delayMs: MAX_RETRY_AFTER_MS },
    );
  });

  test("the attempt after the last retry, or a permanent failure, is a dead letter with the reason", () => {
    assert.deepEqual(settlementFor({ kind: "retry", reason: "503" }, 4, policy), {
      kind: "dead-letter",
      reason: "gave up after 4 attempts: 503",
    });
    assert.deepEqual(settlementFor({ kind: "permanent", reason: "400 invalid_blocks" }, 1, policy), {
      kind: "dead-letter",
      reason: "400 invalid_blocks",
    });
    assert.equal(
      settlementFor({ kind: "retry", reason: "x" }, 1, { ...policy, maxRetries: 0 }).kind,
      "dead-letter",
    );
  });
});

describe("configuration", () => {
  test("URLs carry the servers and credentials; the environment overrides; mistakes are named", async () => {
    const options = jetStreamOptions("nats://alice:s%40cret@10.0.0.1:4222, nats://10.0.0.2:4222", {
      PATCHBAY_EVENT_BUS_REPLICAS: "3",
    });
    assert.deepEqual(options.servers, ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222"]);
    assert.equal(options.user, "alice");
    assert.equal(options.pass, "s@cret");
    assert.equal(options.replicas, 3);
    assert.equal(jetStreamOptions("nats://tok@h:1", {}).token, "tok");
    assert.equal(jetStreamOptions("nats://h:1", { PATCHBAY_EVENT_BUS_TOKEN: "t2" }).token, "t2");
    assert.throws(() => jetStreamOptions("http://h:1", {}), EventBusConfigError);
    assert.throws(() => jetStreamOptions("nats://h:1", { PATCHBAY_EVENT_BUS_REPLICAS: "two" }), /REPLICAS/);
    assert.throws(
      () => jetStreamOptions("nats://u:p@h:1", { PATCHBAY_EVENT_BUS_CREDS: "/nonexistent/x.creds" }),
      /credentials file/,
    );
    const memory = await openEventBus({ url: undefined, log });
    assert.equal(memory.kind, "memory");
    assert.match(memory.description, /in memory/);
    await memory.close();
  });
});
