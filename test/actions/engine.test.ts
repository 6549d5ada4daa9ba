/**
 * The action engine against a scripted dispatcher: where the answer goes (attached, or a follow-up to
 * the named notifiers), the attach deadline, the storm limits and their counters.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Registry } from "prom-client";
import { ActionEngine } from "../../src/actions/index.ts";
import type { Action, ActionSpec } from "../../src/api/v1alpha1/index.ts";
import type { CommandRequest, CommandResult } from "../../src/commands/index.ts";
import type { CloudEvent } from "../../src/events/cloudevent.ts";
import { offersOf, threadKeyOf } from "../../src/notifiers/index.ts";

function action(name: string, spec: Partial<ActionSpec>): Action {
  return {
    apiVersion: "patchbay.dev/v1alpha1",
    kind: "Action",
    metadata: { name },
    spec: {
      command: "kubectl describe pod {{data.pod}} -n {{data.namespace}}",
      executors: ["kubectl"],
      result: { mode: "attach", deadlineSeconds: 5 },
      ...spec,
    },
  };
}

let sequence = 0;
function alert(
  subject: string,
  data: Record<string, unknown> = { pod: "web-1", namespace: "shop" },
): CloudEvent {
  return {
    specversion: "1.0",
    id: `e-${++sequence}`,
    source: "alertmanager",
    type: "alert",
    subject,
    data,
    time: "2026-11-25T04:58:21.123Z",
  };
}

function harness(answer: (request: CommandRequest) => Promise<CommandResult>) {
  const registry = new Registry();
  const published: CloudEvent[] = [];
  const held: boolean[] = [];
  const addressed: { event: CloudEvent; notifiers: readonly string[] }[] = [];
  const requests: CommandRequest[] = [];
  const engine = new ActionEngine({
    dispatch: (request) => {
      requests.push(request);
      return answer(request);
    },
    publish: (event, isHeld) => {
      published.push(event);
      held.push(isHeld);
    },
    publishTo: (event, notifiers) => {
      addressed.push({ event, notifiers });
      return notifiers.filter((name) => name === "gone");
    },
    registry,
    log: { child: () => undefined, debug() {}, info() {}, warn() {}, error() {} } as never,
  });
  const counter = async (name: string, labels: Record<string, string>) => {
    // A histogram's series are named <name>_count, _sum and _bucket within the one metric.
    const values = (await registry.getMetricsAsJSON()).flatMap((m) =>
      m.values.map((v) => ({ ...v, series: (v as { metricName?: string }).metricName ?? m.name })),
    );
    const value = values.find(
      (v) => v.series === name && Object.entries(labels).every(([key, wanted]) => v.labels[key] === wanted),
    );
    return value?.value ?? 0;
  };
  return { engine, published, held, addressed, requests, counter };
}

const ok = (output: string): CommandResult => ({
  status: "ok",
  executor: "kubectl",
  output,
  truncated: false,
  error: "",
});
const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.ok(check());
};

describe("ActionEngine", () => {
  it("publishes an event no action selects at once, untouched", () => {
    const { engine, published, requests } = harness(async () => ok(""));
    engine.setActions([action("a", { filter: { types: ["other"] } })]);
    const event = alert("X");
    engine.accept(event);
    assert.deepEqual(published, [event]);
    assert.equal(requests.length, 0);
  });

  it("attach: holds the event until the answer, then publishes it with data.actions", async () => {
    let release!: (result: CommandResult) => void;
    const { engine, published, requests } = harness(() => new Promise((resolve) => (release = resolve)));
    engine.setActions([action("describe", {})]);
    engine.accept(alert("Crash"));
    assert.equal(published.length, 0, "held while the command runs");
    assert.equal(requests[0]!.command, "'kubectl' 'describe' 'pod' 'web-1' '-n' 'shop'");
    assert.deepEqual(requests[0]!.allowedExecutors, ["kubectl"]);
    release(ok("Name: web-1"));
    await until(() => published.length === 1);
    const data = published[0]!.data as {
      pod: string;
      actions: { action: string; status: string; output: string }[];
    };
    assert.equal(data.pod, "web-1");
    assert.deepEqual(
      data.actions.map(({ action, status, output }) => ({ action, status, output })),
      [{ action: "describe", status: "ok", output: "Name: web-1" }],
    );
  });

  it("attach: past the deadline the event goes out with a pending answer; releaseHeld sends at once", async () => {
    const { engine, published } = harness(() => new Promise(() => {}));
    engine.setActions([action("slow", { result: { mode: "attach", deadlineSeconds: 0.1 } })]);
    engine.accept(alert("Late"));
    await until(() => published.length === 1);
    const [answer] = (published[0]!.data as { actions: { status: string; error: string }[] }).actions;
    assert.equal(answer!.status, "pending");
    assert.match(answer!.error, /no answer within 0\.1 s/);

    engine.setActions([action("slow", { result: { mode: "attach", deadlineSeconds: 300 } })]);
    engine.accept(alert("Shutdown"));
    assert.equal(published.length, 1);
    engine.releaseHeld();
    await until(() => published.length === 2);
  });

  it("followUp: the event goes out at once, the answer follows to the named notifiers naming the event", async () => {
    const { engine, published, addressed } = harness(async () => ok("logs…"));
    engine.setActions([action("logs", { result: { mode: "followUp", notifiers: ["team", "gone"] } })]);
    const event = alert("Crash");
    engine.accept(event);
    assert.deepEqual(published, [event]);
    await until(() => addressed.length === 1);
    const { event: followUp, notifiers } = addressed[0]!;
    assert.deepEqual(notifiers, ["team", "gone"]);
    assert.equal(followUp.type, "dev.patchbay.action.result");
    assert.equal(followUp.subject, "Crash");
    assert.equal(followUp.source, "alertmanager");
    const data = followUp.data as { answers: string; action: string; output: string; status: string };
    assert.equal(data.answers, event.id);
    assert.equal(data.action, "logs");
    assert.equal(data.output, "logs…");
    assert.equal(followUp.patchbaythread, undefined, "the answered event belongs to no thread");
  });

  it("button: nothing runs; the notification offers the command, one literal argument per placeholder", async () => {
    const { engine, published, held, requests, counter } = harness(async () => ok("never"));
    engine.setActions([
      action("logs", {
        command: "kubectl logs {{data.pod}} -n {{data.namespace}}",
        result: { mode: "button" },
      }),
    ]);
    engine.accept(alert("Crash", { pod: "web-1; rm -rf /", namespace: "shop" }));
    assert.equal(requests.length, 0, "a button runs nothing by itself");
    assert.equal(published.length, 1);
    assert.deepEqual(held, [true], "the notification is not the original: it carries the offer");
    assert.deepEqual(offersOf(published[0]!), [
      { label: "logs", command: "'kubectl' 'logs' 'web-1; rm -rf /' '-n' 'shop'" },
    ]);
    assert.equal(engine.holds(alert("Crash")), true);
    // A field the template needs is missing: no button, counted.
    engine.accept(alert("NoPod", { namespace: "shop" }));
    assert.deepEqual(offersOf(published[1]!), []);
    assert.equal(
      await counter("patchbay_action_skips_total", { action: "logs", reason: "missing-field" }),
      1,
    );
  });

  it("followUp: the answer names the thread of the alert it answers, so it lands under it", async () => {
    const { engine, addressed } = harness(async () => ok("logs…"));
    engine.setActions([action("logs", { result: { mode: "followUp", notifiers: ["team"] } })]);
    engine.accept(alert("Crash", { pod: "web-1", namespace: "shop", fingerprint: "3f1c", status: "firing" }));
    await until(() => addressed.length === 1);
    const followUp = addressed[0]!.event;
    assert.equal(followUp.patchbaythread, "alertmanager/fingerprint/3f1c");
    assert.deepEqual(threadKeyOf(followUp), { key: "alertmanager/fingerprint/3f1c", resolves: false });
  });

  it("storms: one run per subject within the window, maxConcurrent in flight, missing fields skipped; all counted", async () => {
    const pending: ((result: CommandResult) => void)[] = [];
    const { engine, published, requests, counter } = harness(
      () => new Promise((resolve) => pending.push(resolve)),
    );
    engine.setActions([
      action("limited", {
        result: { mode: "followUp", notifiers: ["team"] },
        limits: { windowSeconds: 60, maxConcurrent: 2 },
      }),
    ]);
    for (const subject of ["A", "A", "B", "C", "D"]) engine.accept(alert(subject));
    engine.accept(alert("E", { namespace: "shop" }));
    assert.equal(published.length, 6, "every event is still delivered");
    assert.equal(requests.length, 2, "A and B run; A again is in its window; C and D find two in flight");
    assert.equal(await counter("patchbay_action_skips_total", { action: "limited", reason: "window" }), 1);
    assert.equal(
      await counter("patchbay_action_skips_total", { action: "limited", reason: "concurrency" }),
      2,
    );
    assert.equal(
      await counter("patchbay_action_skips_total", { action: "limited", reason: "missing-field" }),
      1,
    );
    for (const resolve of pending) resolve(ok(""));
    await new Promise((resolve) => setTimeout(resolve, 10));
    engine.accept(alert("F", { namespace: "shop" }));
    assert.equal(
      await counter("patchbay_action_skips_total", { action: "limited", reason: "missing-field" }),
      2,
    );
    assert.equal(await counter("patchbay_action_runs_total", { action: "limited", result: "ok" }), 2);
    const duration = await counter("patchbay_action_run_duration_seconds_count", {
      action: "limited",
      result: "ok",
    });
    assert.equal(duration, 2);
  });

  it("an event seen before (same source and id) runs nothing again", () => {
    const { engine, published, requests } = harness(async () => ok(""));
    engine.setActions([
      action("once", { result: { mode: "followUp", notifiers: ["team"] }, limits: { windowSeconds: 0 } }),
    ]);
    const event = alert("Same");
    engine.accept(event);
    engine.accept({ ...event });
    assert.equal(requests.length, 1);
    assert.equal(published.length, 2, "the router drops and counts the duplicate");
  });

  it("reports an action whose template or pattern does not compile, and applies the others", () => {
    const { engine } = harness(async () => ok(""));
    const problems = engine.setActions([
      action("bad-template", { command: "{{data.x}} get pods" }),
      action("bad-pattern", { filter: { subject: "(" } }),
      action("good", {}),
    ]);
    assert.deepEqual(
      problems.map((problem) => problem.name),
      ["bad-template", "bad-pattern"],
    );
    assert.match(problems[0]!.message, /first word must be literal/);
  });
});
