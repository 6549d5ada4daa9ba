/**
 * The JetStream bus against a real nats-server (Debian's package) on a free loopback port with a
 * temporary file store: stored before acknowledged, the duplicate window as dedup, durable consumers
 * with explicit acks, retries held by the server, dead letters, a restart that loses nothing, and a
 * server that is away making publish fail fast instead of hanging.
 */
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { Registry } from "prom-client";
import {
  BusUnavailableError,
  JetStreamBus,
  settlementFor,
  type JetStreamBusOptions,
} from "../../src/bus/index.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { NatsServer } from "../support/nats-server.ts";
import { event, recorder, waitFor } from "./helpers.ts";

const log = createLogger("bus-test", "error");
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(): Promise<NatsServer> {
  const started = await NatsServer.start();
  cleanups.push(() => started.dispose());
  return started;
}

async function bus(nats: NatsServer, options: Partial<JetStreamBusOptions> = {}): Promise<JetStreamBus> {
  const opened = await JetStreamBus.open({ servers: [nats.url], log, publishTimeoutMs: 1_000, ...options });
  cleanups.push(() => opened.close());
  return opened;
}

describe("publishing", () => {
  test("an event is stored; the same (source, id) again is a duplicate, also after reconnecting", async () => {
    const nats = await server();
    const first = await bus(nats);
    assert.equal(await first.publish(event("a")), "stored");
    assert.equal(await first.publish(event("a")), "duplicate");
    // The same id from another source is another event.
    assert.equal(await first.publish(event("a", "other")), "stored");
    // A second process (another replica) shares the window: dedup is the stream's, not ours.
    const second = await bus(nats);
    assert.equal(await second.publish(event("a")), "duplicate");
    assert.equal(await second.publish(event("b")), "stored");
    const stats = await second.stats();
    assert.equal(stats.storedMessages, 3);
    assert.ok(stats.storedBytes! > 0);
  });

  test("the last id stored per source is the resume hint; awkward names and ids are kept apart", async () => {
    const nats = await server();
    const b = await bus(nats);
    assert.equal(await b.lastIdFor("demo"), undefined);
    await b.publish(event("1"));
    await b.publish(event("2"));
    await b.publish(event("x", "kube.events"));
    // A dot, a wildcard and spaces in names; a slash, a percent and a newline in ids.
    await b.publish(event("p/q", "a b*>"));
    await b.publish(event("100%\nsure", "a b*>"));
    assert.equal(await b.publish(event("100%\nsure", "a b*>")), "duplicate");
    assert.equal(await b.publish(event("100%0Asure", "a b*>")), "stored");
    assert.equal(await b.lastIdFor("demo"), "2");
    assert.equal(await b.lastIdFor("kube.events"), "x");
    assert.equal(await b.lastIdFor("kube"), undefined);
    assert.equal(await b.lastIdFor("a b*>"), "100%0Asure");
    // A duplicate does not move the hint.
    await b.publish(event("1"));
    assert.equal(await b.lastIdFor("demo"), "2");
  });

  test("the publish latency is a histogram on the registry, by result", async () => {
    const nats = await server();
    const registry = new Registry();
    const b = await bus(nats, { registry });
    await b.publish(event("a"));
    await b.publish(event("a"));
    const text = await registry.metrics();
    assert.match(text, /patchbay_bus_publish_duration_seconds_count\{bus="jetstream",result="stored"\} 1/);
    assert.match(text, /patchbay_bus_publish_duration_seconds_count\{bus="jetstream",result="duplicate"\} 1/);
    assert.match(text, /patchbay_bus_stored_messages\{bus="jetstream"\} 1/);
  });

  test("nats-server down: publish rejects within its timeout, retryable; back up: it stores again", async () => {
    const nats = await server();
    const b = await bus(nats, { publishTimeoutMs: 500, retryAfterSeconds: 7 });
    assert.equal(await b.publish(event("before")), "stored");
    await nats.stop();
    for (const id of ["during-1", "during-2"]) {
      const started = Date.now();
      await assert.rejects(b.publish(event(id)), (error: unknown) => {
        assert.ok(error instanceof BusUnavailableError, String(error));
        assert.equal(error.retryAfterSeconds, 7);
        return true;
      });
      const took = Date.now() - started;
      assert.ok(took < 1_500, `publish took ${took} ms to fail`);
    }
    await nats.restart();
    // The client reconnects on its own; the file store kept the first event.
    await waitFor(async () => (await b.publish(event("after")).catch(() => undefined)) === "stored", {
      timeoutMs: 10_000,
      what: "a publish after the restart",
    });
    assert.equal(await b.publish(event("before")), "duplicate");
    assert.equal((await b.stats()).storedMessages, 2);
  });
});

describe("durable consumers", () => {
  test("each notifier gets every new event once; an ack is final; select skips what it does not want", async () => {
    const nats = await server();
    const b = await bus(nats);
    await b.publish(event("old"));
    const slack = recorder();
    const hook = recorder();
    await b.subscribe("slack", slack.handler);
    await b.subscribe("hook", hook.handler, { select: (e) => e.type === "com.example.wanted" });
    for (let i = 0; i < 20; i++)
      await b.publish(event(`e${i}`, "demo", { type: i % 2 ? "com.example.wanted" : "other" }));
    await waitFor(() => slack.deliveries.length >= 20 && hook.deliveries.length >= 10, {
      what: "deliveries",
    });
    await waitFor(async () => (await b.stats()).subscriptions.slack!.ackPending === 0, { what: "acks" });
    // A notifier added later starts from new events: "old" is never delivered.
    assert.deepEqual(
      slack.ids(),
      Array.from({ length: 20 }, (_, i) => `e${i}`),
    );
    assert.deepEqual(
      hook.ids(),
      Array.from({ length: 10 }, (_, i) => `e${2 * i + 1}`),
    );
    const stats = await b.stats();
    assert.equal(stats.subscriptions.slack!.pending, 0);
    assert.equal(stats.subscriptions.slack!.acked, 20);
    assert.equal(stats.subscriptions.hook!.skipped, 10);
    assert.equal(stats.subscriptions.hook!.acked, 10);
  });

  test("two processes on one consumer share the deliveries and never deliver one event twice", async () => {
    const nats = await server();
    const a = await bus(nats);
    const b = await bus(nats);
    const seenA = recorder(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { kind: "ack" };
    });
    const seenB = recorder(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { kind: "ack" };
    });
    await a.subscribe("shared", seenA.handler, { maxInFlight: 4 });
    await b.subscribe("shared", seenB.handler, { maxInFlight: 4 });
    for (let i = 0; i < 200; i++) await (i % 2 ? a : b).publish(event(`s${i}`));
    await waitFor(() => seenA.deliveries.length + seenB.deliveries.length >= 200, { what: "200 deliveries" });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const all = [...seenA.ids(), ...seenB.ids()];
    assert.equal(all.length, 200);
    assert.equal(new Set(all).size, 200);
    assert.ok(
      seenA.deliveries.length > 0 && seenB.deliveries.length > 0,
      `A ${seenA.deliveries.length}, B ${seenB.deliveries.length}`,
    );
  });

  test("a retry is redelivered by the server no sooner than its delay, in order; after maxRetries a dead letter", async () => {
    const nats = await server();
    const b = await bus(nats);
    const policy = { maxRetries: 2, initialBackoffMs: 50, maxBackoffMs: 100 };
    const seen = recorder((delivery) =>
      delivery.event.id === "bad"
        ? settlementFor(
            { kind: "retry", reason: "503 from the platform", retryAfterMs: 400 },
            delivery.attempt,
            policy,
          )
        : { kind: "ack" },
    );
    await b.subscribe("hook", seen.handler);
    await b.publish(event("bad"));
    await b.publish(event("good"));
    await waitFor(() => seen.ids().includes("good"), { what: "the event behind the retries" });
    // One in flight at a time: "good" waits behind "bad"'s retries, as the router's queue did.
    assert.deepEqual(
      seen.deliveries.map((d) => `${d.id}#${d.attempt}`),
      ["bad#1", "bad#2", "bad#3", "good#1"],
    );
    for (let i = 1; i < 3; i++) {
      const gap = seen.deliveries[i]!.at - seen.deliveries[i - 1]!.at;
      assert.ok(gap >= 390, `retry ${i} came after ${gap} ms, Retry-After said 400`);
    }
    const letters = await b.deadLetters({ notifier: "hook" });
    assert.equal(letters.length, 1);
    assert.equal(letters[0]!.event.id, "bad");
    assert.equal(letters[0]!.attempts, 3);
    assert.match(letters[0]!.reason, /gave up after 3 attempts: 503 from the platform/);
    assert.deepEqual(await b.deadLetters({ notifier: "other" }), []);
    const stats = (await b.stats()).subscriptions.hook!;
    assert.equal(stats.retried, 2);
    assert.equal(stats.deadLettered, 1);
    assert.equal(stats.acked, 1);
    await waitFor(async () => (await b.stats()).subscriptions.hook!.ackPending === 0, { what: "settled" });
  });

  test("a process that dies mid-delivery leaves the event to another one; a removed notifier is forgotten", async () => {
    const nats = await server();
    const dying = await bus(nats);
    const survivor = await bus(nats);
    let release!: () => void;
    const hung = new Promise<void>((resolve) => (release = resolve));
    const first = recorder(async () => {
      await hung;
      return { kind: "ack" };
    });
    await dying.subscribe("hook", first.handler, { ackWaitMs: 1_000 });
    await dying.publish(event("x"));
    await waitFor(() => first.deliveries.length === 1, { what: "the first delivery" });
    // Closing without drain hands the delivery back (nak) rather than waiting for the ack wait.
    const closing = dying.close(0);
    const second = recorder();
    await survivor.subscribe("hook", second.handler, { ackWaitMs: 1_000 });
    await closing;
    release();
    await waitFor(() => second.deliveries.length === 1, { what: "the redelivery" });
    assert.equal(second.deliveries[0]!.id, "x");
    assert.equal(second.deliveries[0]!.attempt, 2);
    await survivor.removeSubscription("hook");
    await survivor.publish(event("y"));
    // Subscribing again is a new notifier: it starts from new events, "y" is not delivered.
    const third = recorder();
    await survivor.subscribe("hook", third.handler);
    await survivor.publish(event("z"));
    await waitFor(() => third.deliveries.length === 1, { what: "z" });
    assert.deepEqual(third.ids(), ["z"]);
  });
});

describe("durability", () => {
  /**
   * 200 events stored; notifier "hook" acked them all, notifier "slow" acked k0..k49 and hangs on k50.
   * Then nats-server goes away (`how`) and comes back on its file store.
   */
  async function crashAndRestart(how: "kill" | "stop") {
    const nats = await server();
    const before = await bus(nats);
    const delivered = recorder();
    await before.subscribe("hook", delivered.handler);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const stuck = recorder(async (delivery) => {
      if (Number(delivery.event.id.slice(1)) >= 50) await gate;
      return { kind: "ack" };
    });
    // The ack wait is how long the server waits for a process that died before it hands out again.
    await before.subscribe("slow", stuck.handler, { ackWaitMs: 1_000 });
    let stored = 0;
    for (let i = 0; i < 200; i++) if ((await before.publish(event(`k${i}`))) === "stored") stored++;
    assert.equal(stored, 200);
    await waitFor(() => delivered.deliveries.length === 200 && stuck.deliveries.length === 51, {
      what: "deliveries",
    });
    await (how === "kill" ? nats.kill() : nats.stop());
    await before.close(0);
    release();
    await nats.restart();

    const after = await bus(nats);
    assert.equal((await after.stats()).storedMessages, 200);
    assert.equal(await after.lastIdFor("demo"), "k199");
    // Every id stays known to the duplicate window.
    assert.equal(await after.publish(event("k7")), "duplicate");
    const resumed = recorder();
    const resumedAll = recorder();
    await after.subscribe("slow", resumed.handler, { ackWaitMs: 1_000 });
    await after.subscribe("hook", resumedAll.handler);
    await waitFor(() => resumed.ids().includes("k199"), { what: "the 150 unacknowledged" });
    await new Promise((resolve) => setTimeout(resolve, 300));
    return { resumed, resumedAll };
  }

  const unacknowledged = Array.from({ length: 150 }, (_, i) => `k${i + 50}`);

  test("nats-server stopped and restarted on its file store: exactly the unacknowledged are delivered", async () => {
    const { resumed, resumedAll } = await crashAndRestart("stop");
    assert.deepEqual(resumed.ids(), unacknowledged);
    assert.deepEqual(resumedAll.ids(), []);
    // k50 was out for delivery when the server went: handed out again, as a redelivery.
    assert.equal(resumed.deliveries[0]!.attempt, 2);
  });

  test("SIGKILL of nats-server, restart on its file store: nothing is lost, in order", async () => {
    const { resumed, resumedAll } = await crashAndRestart("kill");
    // A single server writes a consumer's ack floor to disk a moment after the ack, so a SIGKILL may
    // forget the last few acks: those events come again (at least once). Nothing else may differ:
    // the unacknowledged all come, once each and in order, after a repeat of the newest acked ones.
    const ids = resumed.ids();
    const repeated = ids.length - unacknowledged.length;
    assert.deepEqual(ids.slice(repeated), unacknowledged);
    assert.deepEqual(
      ids.slice(0, repeated),
      Array.from({ length: repeated }, (_, i) => `k${50 - repeated + i}`),
    );
    const all = resumedAll.ids();
    assert.deepEqual(
      all,
      Array.from({ length: all.length }, (_, i) => `k${200 - all.length + i}`),
    );
  });
});
