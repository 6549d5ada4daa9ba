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
import { BusNotifiers, MemoryBus } from "../../src/bus/index.ts";
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
    const forged = event("9", "alerts", { [ANSWERED_EXTENSION]: "true", [ADDRESSED_EXTENSION]: "ops" });
    const clean = fromEdge(forged);
    assert.equal(clean[ANSWERED_EXTENSION], undefined);
    assert.equal(clean[ADDRESSED_EXTENSION], undefined);
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
});
