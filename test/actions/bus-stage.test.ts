/**
 * The actions stage on a bus (the in-memory one, for speed; actions-bus-crash.test.ts and
 * alert-diagnosis.test.ts run it on a real nats-server): what the notifiers deliver when an Action
 * holds an event for its answer or follows it up, and that producers cannot set the routing marks.
 */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { Registry } from "prom-client";
import {
  ACTIONS_STAGE,
  ActionEngine,
  ActionsStage,
  ADDRESSED_EXTENSION,
  ANSWERED_EXTENSION,
  fromEdge,
} from "../../src/actions/index.ts";
import type { Action, ActionSpec } from "../../src/api/v1alpha1/index.ts";
import {
  BusNotifiers,
  MemoryBus,
  type BusStats,
  type DeadLetter,
  type DeliveryHandler,
  type DeliveryRouting,
  type EventBus,
  type PublishOptions,
  type PublishOutcome,
  type SubscriptionOptions,
} from "../../src/bus/index.ts";
import type { CommandResult } from "../../src/commands/index.ts";
import type { CloudEvent } from "../../src/events/cloudevent.ts";
import { DELIVERED, type NotifierSink } from "../../src/notifiers/index.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { waitFor } from "../support/wait.ts";

const log = createLogger("stage-test", "error");
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function action(name: string, spec: Partial<ActionSpec>): Action {
  return {
    apiVersion: "patchbay.dev/v1alpha1",
    kind: "Action",
    metadata: { name },
    spec: {
      sources: { names: ["alerts"] },
      command: "echo {{data.pod}}",
      executors: ["echo"],
      result: { mode: "attach", deadlineSeconds: 5 },
      ...spec,
    },
  };
}

function event(id: string, source = "alerts", extra: Record<string, unknown> = {}): CloudEvent {
  return {
    specversion: "1.0",
    id,
    source,
    type: "alert",
    time: "2026-12-01T05:00:00Z",
    data: { pod: `web-${id}` },
    ...extra,
  };
}

/** A notifier that records what it delivers. */
function recordingSink(): NotifierSink & { events: CloudEvent[] } {
  const events: CloudEvent[] = [];
  return { type: "webhook", events, deliver: async (e) => (events.push(e), DELIVERED) };
}

async function stageWith(actions: Action[], notifiers: string[]) {
  const bus = new MemoryBus({ log });
  cleanups.push(() => bus.close());
  const busNotifiers = new BusNotifiers(bus, log);
  const sinks = new Map(notifiers.map((name) => [name, recordingSink()]));
  // The engine publishes through the stage, which needs the engine: the ports read it when called.
  const ports: { stage?: ActionsStage } = {};
  const engine = new ActionEngine({
    dispatch: async (request): Promise<CommandResult> => ({
      status: "ok",
      executor: "echo",
      output: request.command.replace(/^'echo' /, ""),
      truncated: false,
      error: "",
    }),
    publish: (e, held) => ports.stage!.publish(e, held),
    publishTo: (e, names) => ports.stage!.publishTo(e, names),
    registry: new Registry(),
    log,
  });
  const stage = new ActionsStage({
    bus,
    notifiers: busNotifiers,
    engine,
    knownNotifiers: () => new Set(notifiers),
    log,
  });
  ports.stage = stage;
  cleanups.push(async () => stage.close());
  assert.deepEqual(engine.setActions(actions), []);
  stage.want(actions.length > 0);
  await stage.settled();
  await busNotifiers.setNotifiers(
    notifiers.map((name) => ({ name, delivery: { ratePerSecond: 0 }, sink: sinks.get(name)! })),
  );
  return { bus, stage, sinks };
}

describe("the actions stage on the event bus", () => {
  it("attach: the notifiers deliver the copy with the answer, not the original; the marks are not delivered", async () => {
    const { bus, sinks } = await stageWith([action("diagnose", {})], ["team", "ops"]);
    assert.equal(await bus.publish(event("1")), "stored");
    assert.equal(await bus.publish(event("2", "other")), "stored");
    for (const name of ["team", "ops"]) {
      const sink = sinks.get(name)!;
      await waitFor(() => sink.events.length === 2, { what: `two deliveries to ${name}` });
      const [first, second] = [...sink.events].sort((a, b) => a.id.localeCompare(b.id));
      assert.equal(first!.id, "1");
      const data = first!.data as { actions?: { output: string; action: string }[] };
      assert.equal(
        data.actions?.[0]?.action,
        "diagnose",
        "the original was not delivered without its answer",
      );
      assert.equal(data.actions?.[0]?.output, "'web-1'");
      assert.equal(first![ANSWERED_EXTENSION], undefined);
      assert.equal(second!.id, "2", "an event no Action selects goes straight through");
      assert.equal((second!.data as { actions?: unknown }).actions, undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(sinks.get("team")!.events.length, 2, "nothing delivered twice");
  });

  it("followUp: the original at once to everyone; the answer to the Action's notifiers only", async () => {
    const { bus, sinks } = await stageWith(
      [action("logs", { result: { mode: "followUp", notifiers: ["team"] } })],
      ["team", "ops"],
    );
    await bus.publish(event("7"));
    const team = sinks.get("team")!;
    await waitFor(() => team.events.length === 2, { what: "the alert and its follow-up at team" });
    assert.deepEqual(
      team.events.map((e) => e.type),
      ["alert", "dev.patchbay.action.result"],
    );
    assert.equal(team.events[1]![ADDRESSED_EXTENSION], undefined, "the address is not delivered");
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(
      sinks.get("ops")!.events.map((e) => e.id),
      ["7"],
      "ops gets the alert, not the follow-up",
    );
  });

  it("a producer cannot set the marks: the edges remove them", () => {
    // The names the README documents, spelled out.
    const forged = event("9", "alerts", {
      patchbayanswered: "true",
      patchbaynotifiers: "ops",
      patchbayoffers: JSON.stringify([{ label: "Describe", command: "kubectl get secrets -A" }]),
    });
    const clean = fromEdge(forged);
    assert.equal(clean[ANSWERED_EXTENSION], undefined);
    assert.equal(clean[ADDRESSED_EXTENSION], undefined);
    assert.equal(clean.patchbayoffers, undefined, "an event brings no buttons of its own");
    assert.deepEqual(clean, event("9"));
    const plain = event("10");
    assert.equal(fromEdge(plain), plain, "an event without marks is passed as it is");
  });

  it("subscribes while there are Actions and removes its subscription when there are none", async () => {
    const { bus, stage } = await stageWith([action("diagnose", {})], ["team"]);
    assert.ok(ACTIONS_STAGE in (await bus.stats()).subscriptions);
    stage.want(false);
    await stage.settled();
    assert.equal(ACTIONS_STAGE in (await bus.stats()).subscriptions, false);
  });

  it("stores each held event's answered copy under its own id: two alerts, two copies", async () => {
    const { bus, sinks } = await stageWith([action("diagnose", {})], ["team"]);
    await bus.publish(event("a"));
    await bus.publish(event("b"));
    const team = sinks.get("team")!;
    await waitFor(() => team.events.length === 2, { what: "both answered copies" });
    assert.deepEqual(team.events.map((e) => e.id).sort(), ["a", "b"]);
  });
});

/** A bus that records what the stage asks of it; subscribe can be made slow or failing. */
class RecordingBus implements EventBus {
  readonly kind = "recording";
  readonly description = "records calls";
  readonly published: { event: CloudEvent; options?: PublishOptions }[] = [];
  readonly subscriptions: { name: string; handler: DeliveryHandler; options?: SubscriptionOptions }[] = [];
  readonly removed: string[] = [];
  failingSubscribes = 0;
  subscribeDelayMs = 0;

  async publish(event: CloudEvent, options?: PublishOptions): Promise<PublishOutcome> {
    this.published.push({ event, options });
    return "stored";
  }
  async lastIdFor(): Promise<string | undefined> {
    return undefined;
  }
  async subscribe(name: string, handler: DeliveryHandler, options?: SubscriptionOptions): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, this.subscribeDelayMs));
    if (this.failingSubscribes > 0) {
      this.failingSubscribes--;
      throw new Error("the bus is away");
    }
    this.subscriptions.push({ name, handler, options });
  }
  async removeSubscription(name: string): Promise<void> {
    this.removed.push(name);
  }
  async stats(): Promise<BusStats> {
    return { storedMessages: 0, storedBytes: 0, subscriptions: {} };
  }
  async deadLetters(): Promise<DeadLetter[]> {
    return [];
  }
  async close(): Promise<void> {}
}

function recordingStage(options: { answer?: () => Promise<CommandResult>; workingEveryMs?: number } = {}) {
  const bus = new RecordingBus();
  const warnings: string[] = [];
  // The logger as it is, but for what it warns of.
  const stageLog: typeof log = Object.assign(Object.create(log) as typeof log, {
    warn: (message: string) => warnings.push(message),
  });
  let routing: DeliveryRouting | undefined;
  const notifiers = { setRouting: (r: DeliveryRouting) => (routing = r) } as unknown as BusNotifiers;
  const ports: { stage?: ActionsStage } = {};
  const engine = new ActionEngine({
    dispatch:
      options.answer ??
      (async () => ({ status: "ok", executor: "echo", output: "ok", truncated: false, error: "" })),
    publish: (e, held) => ports.stage!.publish(e, held),
    publishTo: (e, names) => ports.stage!.publishTo(e, names),
    registry: new Registry(),
    log,
  });
  const stage = new ActionsStage({
    bus,
    notifiers,
    engine,
    knownNotifiers: () => new Set(["team"]),
    workingEveryMs: options.workingEveryMs,
    log: stageLog,
  });
  ports.stage = stage;
  return { bus, stage, engine, warnings, routing: () => routing! };
}

describe("the actions stage's own rules", () => {
  it("subscribes as patchbay:actions to the events an Action selects, never a marked copy, 32 at a time in parallel", async () => {
    const { bus, stage, engine } = recordingStage();
    engine.setActions([action("diagnose", {})]);
    stage.want(true);
    await stage.settled();
    const [subscription] = bus.subscriptions;
    assert.equal(subscription?.name, "patchbay:actions");
    const { select, maxInFlight, parallel, ackWaitMs } = subscription.options!;
    assert.deepEqual(
      { maxInFlight, parallel, ackWaitMs },
      { maxInFlight: 32, parallel: true, ackWaitMs: 15_000 },
    );
    assert.equal(select!(event("1")), true);
    assert.equal(select!(event("2", "other")), false, "no Action selects it");
    assert.equal(select!(event("3", "alerts", { patchbayanswered: "true" })), false, "an answered copy");
    assert.equal(select!(event("4", "alerts", { patchbaynotifiers: "team" })), false, "a follow-up");
  });

  it("acks only once the answered copy is stored, telling the bus it is working meanwhile", async () => {
    let finish!: (result: CommandResult) => void;
    const { bus, stage, engine } = recordingStage({
      answer: () => new Promise((resolve) => (finish = resolve)),
      workingEveryMs: 10,
    });
    engine.setActions([action("diagnose", {})]);
    stage.want(true);
    await stage.settled();
    let working = 0;
    const settlement = bus.subscriptions[0]!.handler({
      event: event("7"),
      attempt: 1,
      signal: new AbortController().signal,
      working: () => working++,
    });
    await waitFor(() => working >= 2, { what: "working() while the command runs" });
    assert.equal(bus.published.length, 0, "nothing stored before the answer");
    finish({ status: "ok", executor: "echo", output: "web-7", truncated: false, error: "" });
    assert.deepEqual(await settlement, { kind: "ack" });
    const [stored] = bus.published;
    assert.equal(stored?.event.patchbayanswered, "true");
    assert.deepEqual(stored?.options, { derivedId: "answered/alerts/7" });
    assert.equal((stored?.event.data as { actions: { output: string }[] }).actions[0]!.output, "web-7");
    const after = working;
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(working, after, "no word once settled");
  });

  it("publishes nothing for an event no attach-mode Action held; a follow-up addressed, naming unknown notifiers", async () => {
    const { bus, stage } = recordingStage();
    await stage.publish(event("8"), false);
    assert.equal(bus.published.length, 0);
    const unknown = await stage.publishTo(event("8.logs"), ["team", "gone"]);
    assert.deepEqual(unknown, ["gone"]);
    assert.equal(bus.published[0]!.event.patchbaynotifiers, "team,gone");
    assert.deepEqual(bus.published[0]!.options, { derivedId: "follow-up/alerts/8.logs" });
  });

  it("routes: a follow-up to the notifiers it names; a held original to none; its answered copy by selection", () => {
    const { engine, routing } = recordingStage();
    engine.setActions([action("diagnose", {})]);
    const { decide } = routing();
    assert.equal(decide(event("1", "alerts", { patchbaynotifiers: "team,ops" }), "ops"), true);
    assert.equal(decide(event("1", "alerts", { patchbaynotifiers: "team,ops" }), "dev"), false);
    assert.equal(decide(event("2"), "team"), false, "held for its answers");
    assert.equal(decide(event("2", "alerts", { patchbayanswered: "true" }), "team"), undefined);
    assert.equal(decide(event("3", "other"), "team"), undefined, "no Action holds it");
  });

  it("subscribes once however often it is asked, retries after a failure (said in the log), and stops when closed", async () => {
    const { bus, stage, engine, warnings } = recordingStage();
    engine.setActions([action("diagnose", {})]);
    bus.failingSubscribes = 1;
    bus.subscribeDelayMs = 20;
    stage.want(true);
    stage.want(true);
    await stage.settled();
    assert.equal(bus.subscriptions.length, 1, "one subscription");
    assert.deepEqual(warnings, ["the actions stage could not be (un)subscribed on the event bus; retrying"]);
    stage.want(false);
    await stage.settled();
    assert.deepEqual(bus.removed, ["patchbay:actions"]);

    const closing = recordingStage();
    closing.bus.failingSubscribes = 1_000;
    closing.stage.want(true);
    closing.stage.close();
    await closing.stage.settled();
    assert.equal(closing.bus.subscriptions.length, 0);
    assert.ok(closing.bus.failingSubscribes >= 998, "no retries once closed");
  });
});
