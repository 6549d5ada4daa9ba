import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Condition } from "../../src/api/v1alpha1/index.ts";
import { ConditionSet } from "../../src/controller/index.ts";

function clock(start = Date.parse("2025-01-01T00:00:00Z")) {
  let now = start;
  return {
    now: () => new Date(now),
    advance(ms: number) {
      now += ms;
    },
  };
}

const dependents = ["WorkloadAvailable", "Connected", "ConfigValid"];

describe("ConditionSet", () => {
  it("derives Ready: True only when every dependent is True", () => {
    const set = new ConditionSet("Ready", dependents);
    const status: { conditions?: Condition[] } = {};
    const conditions = set.manage(status, 1);
    conditions.markTrue("WorkloadAvailable");
    assert.equal(conditions.get("Ready")?.status, "Unknown", "two dependents not reported yet");
    conditions.markTrue("Connected");
    assert.equal(conditions.isHappy(), false);
    conditions.markTrue("ConfigValid", "SchemaValid", "config matches the plugin's schema");
    assert.equal(conditions.isHappy(), true);
    assert.deepEqual(
      status.conditions?.map((c) => c.type),
      ["Ready", "WorkloadAvailable", "Connected", "ConfigValid"],
      "the summary comes first, the rest in the order first reported",
    );
    assert.equal(conditions.get("Ready")?.reason, "Ready");
    assert.equal(conditions.get("ConfigValid")?.reason, "SchemaValid");
  });

  it("carries the first False dependent's reason and message, False winning over Unknown", () => {
    const set = new ConditionSet("Ready", dependents);
    const status: { conditions?: Condition[] } = {};
    const conditions = set.manage(status, 3);
    conditions.initialize();
    assert.equal(status.conditions?.length, 4);
    assert.ok(status.conditions?.every((c) => c.status === "Unknown"));
    conditions.markUnknown("WorkloadAvailable", "Progressing", "waiting for 1 replica");
    conditions.markFalse("ConfigValid", "SchemaViolation", "config.interval: must be a string");
    const ready = conditions.get("Ready");
    assert.equal(ready?.status, "False");
    assert.equal(ready?.reason, "SchemaViolation");
    assert.equal(ready?.message, "config.interval: must be a string");
    conditions.markTrue("ConfigValid");
    assert.equal(conditions.get("Ready")?.status, "Unknown");
    assert.equal(conditions.get("Ready")?.reason, "Progressing");
  });

  it("moves lastTransitionTime only when the status changes", () => {
    const time = clock();
    const set = new ConditionSet("Ready", ["Connected"], { now: time.now });
    const status: { conditions?: Condition[] } = {};
    set.manage(status, 1).markFalse("Connected", "Unreachable", "dial tcp: connection refused");
    const firstFalse = set.manage(status, 1).get("Connected")?.lastTransitionTime;
    assert.equal(firstFalse, "2025-01-01T00:00:00Z");

    time.advance(60_000);
    const later = set.manage(status, 2);
    later.markFalse("Connected", "HandshakeFailed", "protocol version 2 is not supported");
    assert.equal(
      later.get("Connected")?.lastTransitionTime,
      firstFalse,
      "same status, new reason: time kept",
    );
    assert.equal(later.get("Connected")?.reason, "HandshakeFailed");
    assert.equal(later.get("Ready")?.lastTransitionTime, firstFalse);

    time.advance(60_000);
    later.markTrue("Connected");
    assert.equal(later.get("Connected")?.lastTransitionTime, "2025-01-01T00:02:00Z");
    assert.equal(later.get("Ready")?.lastTransitionTime, "2025-01-01T00:02:00Z");
  });

  it("stamps observedGeneration on every condition it writes", () => {
    const set = new ConditionSet("Ready", ["Connected", "ConfigValid"]);
    const status: { conditions?: Condition[] } = {};
    const first = set.manage(status, 4);
    first.markTrue("Connected");
    first.markTrue("ConfigValid");
    assert.ok(status.conditions?.every((c) => c.observedGeneration === 4));
    const second = set.manage(status, 5);
    second.markTrue("Connected");
    second.markFalse("ConfigValid", "SchemaViolation", "bad");
    assert.deepEqual(
      status.conditions?.map((c) => [c.type, c.observedGeneration]),
      [
        ["Ready", 5],
        ["Connected", 5],
        ["ConfigValid", 5],
      ],
    );
  });

  it("leaves conditions outside the set alone when deriving Ready", () => {
    const set = new ConditionSet("Ready", ["Connected"]);
    const status: { conditions?: Condition[] } = {};
    const conditions = set.manage(status, 1);
    conditions.markTrue("Connected");
    conditions.markTrue("PrefixConflict", "SharedPrefix", "kubectl is also claimed by ns/other");
    assert.equal(conditions.isHappy(), true);
    assert.throws(() => new ConditionSet("Ready", ["Ready"]), /cannot depend on itself/);
  });
});
