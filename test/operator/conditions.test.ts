import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Condition } from "../../src/api/v1alpha1/index.ts";
import type { PluginState } from "../../src/hub/index.ts";
import {
  CONFIG_VALID,
  CONNECTED,
  deploymentVerdict,
  executorConditions,
  markPluginConditions,
  PREFIX_CONFLICT,
  READY,
  WORKLOAD_AVAILABLE,
} from "../../src/operator/index.ts";

const executorSet = executorConditions;
const available = { status: "True" as const, reason: "ExternalAddress", message: "served at x:1" };

function hubState(phase: PluginState["phase"], reason: string, message: string): PluginState {
  return {
    kind: "executor",
    name: "echo",
    address: "x:1",
    phase,
    reason,
    message,
    since: new Date(),
    plugin: {
      name: "echo",
      version: "1.2.3",
      description: "",
      configSchema: {},
      acceptsExternalRequests: false,
      resumableStream: false,
    },
  };
}

function conditionsFor(observation: Parameters<typeof markPluginConditions>[1], generation = 4) {
  const status: { conditions?: Condition[] } = {};
  markPluginConditions(executorSet.manage(status, generation), observation);
  return Object.fromEntries(status.conditions!.map((condition) => [condition.type, condition]));
}

describe("plugin conditions", () => {
  it("are all True with Ready when the plugin answers, each at the generation observed", () => {
    const conditions = conditionsFor({
      specProblems: [],
      mode: "external",
      suspended: false,
      workload: available,
      hub: hubState("Ready", "Ready", "serving"),
      executor: true,
    });
    for (const type of [READY, CONFIG_VALID, PREFIX_CONFLICT, WORKLOAD_AVAILABLE, CONNECTED]) {
      assert.equal(conditions[type]!.status, "True", type);
      assert.equal(conditions[type]!.observedGeneration, 4);
      assert.match(conditions[type]!.reason, /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/);
    }
    assert.equal(conditions[CONNECTED]!.message, "echo 1.2.3 at x:1");
  });

  it("say InvalidSpec on every dependent when the spec is broken", () => {
    const conditions = conditionsFor({
      specProblems: [
        "spec.runtime must set exactly one of pod, sidecar, external, process (it sets pod, external)",
      ],
      suspended: false,
      workload: { status: "Unknown", reason: "InvalidSpec", message: "" },
      executor: true,
    });
    assert.equal(conditions[READY]!.status, "False");
    assert.equal(conditions[READY]!.reason, "InvalidSpec");
    assert.match(conditions[READY]!.message, /exactly one of/);
  });

  it("carry the schema error of a config the plugin rejects", () => {
    const conditions = conditionsFor({
      specProblems: [],
      mode: "external",
      suspended: false,
      workload: available,
      hub: hubState("ConfigInvalid", "ConfigInvalid", "config.greeting must be string"),
      executor: true,
    });
    assert.equal(conditions[CONFIG_VALID]!.status, "False");
    assert.equal(conditions[CONFIG_VALID]!.message, "config.greeting must be string");
    assert.equal(conditions[READY]!.reason, "ConfigInvalid");
    assert.equal(conditions[CONNECTED]!.status, "True");
  });

  it("pass on the hub's reason when the plugin is wrong or unreachable, without the retry countdown", () => {
    const wrong = conditionsFor({
      specProblems: [],
      suspended: false,
      workload: available,
      hub: hubState("Incompatible", "WrongKind", "it is a source"),
      executor: true,
    });
    assert.equal(wrong[CONNECTED]!.reason, "WrongKind");
    assert.equal(wrong[CONFIG_VALID]!.status, "Unknown");
    const down = conditionsFor({
      specProblems: [],
      suspended: false,
      workload: available,
      hub: hubState("Unavailable", "ConnectionFailed", "connect ECONNREFUSED (retry 3 in 800 ms)"),
      executor: true,
    });
    assert.equal(down[CONNECTED]!.status, "False");
    assert.equal(down[CONNECTED]!.message, "connect ECONNREFUSED");
    assert.equal(down[READY]!.reason, "ConnectionFailed");
  });

  it("report a lost prefix as PrefixConflict=False and Ready=False naming the holder", () => {
    const conditions = conditionsFor({
      specProblems: [],
      suspended: false,
      workload: available,
      lostClaim: {
        reason: "PrefixConflict",
        message: "prefix 'kubectl' is already served by ExecutorPlugin a/kubectl",
      },
      executor: true,
    });
    assert.equal(conditions[PREFIX_CONFLICT]!.status, "False");
    assert.equal(conditions[READY]!.reason, "PrefixConflict");
    assert.match(conditions[READY]!.message, /a\/kubectl/);
  });
});

describe("deployment verdict", () => {
  it("follows the Deployment's Available condition", () => {
    assert.equal(deploymentVerdict(undefined, false).status, "Unknown");
    const name = { name: "patchbay-source-x" };
    assert.equal(
      deploymentVerdict({ metadata: name, spec: { replicas: 1 } as never }, false).reason,
      "Deploying",
    );
    const down = deploymentVerdict(
      {
        metadata: name,
        spec: { replicas: 1 } as never,
        status: {
          conditions: [{ type: "Available", status: "False", message: "MinimumReplicasUnavailable" }],
        } as never,
      },
      false,
    );
    assert.equal(down.status, "False");
    assert.match(down.message, /0\/1 replicas available: MinimumReplicasUnavailable/);
    const up = deploymentVerdict(
      {
        metadata: name,
        spec: { replicas: 1 } as never,
        status: { availableReplicas: 1, conditions: [{ type: "Available", status: "True" }] } as never,
      },
      false,
    );
    assert.equal(up.status, "True");
    assert.equal(deploymentVerdict(undefined, true).reason, "Suspended");
  });
});
