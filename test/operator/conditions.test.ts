import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Condition } from "../../src/api/v1alpha1/index.ts";
import { ConditionSet } from "../../src/controller/index.ts";
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
    for (const type of [READY, CONFIG_VALID, WORKLOAD_AVAILABLE, CONNECTED]) {
      assert.equal(conditions[type]!.status, "True", type);
    }
    // Named for the problem, so False is the healthy state.
    assert.equal(conditions[PREFIX_CONFLICT]!.status, "False");
    assert.equal(conditions[PREFIX_CONFLICT]!.reason, "NoConflict");
    for (const type of [READY, CONFIG_VALID, PREFIX_CONFLICT, WORKLOAD_AVAILABLE, CONNECTED]) {
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

  it("report a lost prefix as PrefixConflict=True and Ready=False naming the holder", () => {
    const lostClaim = {
      reason: "PrefixConflict" as const,
      message: "prefix 'kubectl' is already served by ExecutorPlugin a/kubectl",
    };
    const conditions = conditionsFor({
      specProblems: [],
      suspended: false,
      workload: available,
      lostClaim,
      executor: true,
    });
    assert.equal(conditions[PREFIX_CONFLICT]!.status, "True");
    assert.equal(conditions[PREFIX_CONFLICT]!.reason, "PrefixConflict");
    // Its consequence: not handed to the hub.
    assert.equal(conditions[CONNECTED]!.status, "False");
    assert.equal(conditions[CONNECTED]!.reason, "PrefixConflict");
    assert.equal(conditions[READY]!.status, "False");
    assert.equal(conditions[READY]!.reason, "PrefixConflict");
    assert.match(conditions[READY]!.message, /a\/kubectl/);

    // Even with the hub's view all good (it never is for a plugin that lost a claim), Ready stays False.
    const served = conditionsFor({
      specProblems: [],
      suspended: false,
      workload: available,
      hub: hubState("Ready", "Ready", "serving"),
      lostClaim,
      executor: true,
    });
    assert.equal(served[READY]!.status, "False");
    assert.equal(served[READY]!.reason, "PrefixConflict");

    // A dependent that is already False comes first, as a plugin comes up.
    const down = conditionsFor({
      specProblems: [],
      suspended: false,
      workload: { status: "False", reason: "DeploymentUnavailable", message: "0/1" },
      lostClaim,
      executor: true,
    });
    assert.equal(down[READY]!.reason, "DeploymentUnavailable");
    assert.equal(down[PREFIX_CONFLICT]!.status, "True");
  });

  it("keep lastTransitionTime of Ready when a conflict is re-reported, and move it when it clears", () => {
    let clock = new Date("2030-01-01T00:00:00Z");
    const set = new ConditionSet(READY, [...executorSet.dependents], { now: () => clock });
    const status: { conditions?: Condition[] } = {};
    const lostClaim = { reason: "PrefixConflict" as const, message: "prefix 'x' is held by a/x" };
    const observe = (claim?: typeof lostClaim) =>
      markPluginConditions(set.manage(status, 1), {
        specProblems: [],
        suspended: false,
        workload: available,
        hub: hubState("Ready", "Ready", "serving"),
        lostClaim: claim,
        executor: true,
      });
    const ready = () => status.conditions!.find((condition) => condition.type === READY)!;
    observe(lostClaim);
    const since = ready().lastTransitionTime;
    clock = new Date("2030-01-01T00:01:00Z");
    observe(lostClaim);
    assert.equal(ready().status, "False");
    assert.equal(ready().lastTransitionTime, since, "re-reporting the conflict moved lastTransitionTime");
    observe();
    assert.equal(ready().status, "True");
    assert.equal(ready().lastTransitionTime, "2030-01-01T00:01:00Z");
  });

  it("leave PrefixConflict Unknown when the spec is invalid", () => {
    const conditions = conditionsFor({
      specProblems: ["spec.prefixes must list at least one prefix"],
      suspended: false,
      workload: { status: "Unknown", reason: "InvalidSpec", message: "" },
      executor: true,
    });
    assert.equal(conditions[PREFIX_CONFLICT]!.status, "Unknown");
    assert.equal(conditions[READY]!.reason, "InvalidSpec");
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
