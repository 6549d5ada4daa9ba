/**
 * A plugin's status conditions from what the reconciler observed, with `Ready` as their summary.
 */
import type { V1Deployment } from "@kubernetes/client-node";
import type { RuntimeMode } from "../api/v1alpha1/index.ts";
import { ConditionSet, type ConditionManager } from "../controller/index.ts";
import type { PluginState } from "../hub/index.ts";
import type { LostClaim } from "./conflicts.ts";

export const READY = "Ready";
export const CONFIG_VALID = "ConfigValid";
export const WORKLOAD_AVAILABLE = "WorkloadAvailable";
export const CONNECTED = "Connected";
/**
 * Reads as its name says: True when an older executor holds one of this executor's prefixes, False
 * (NoConflict) while its prefixes are its own. It is not a dependent of Ready (ConditionSet takes
 * True as healthy); its consequence is: the executor is not handed to the hub, so Connected is
 * False with reason PrefixConflict, and so is Ready.
 */
export const PREFIX_CONFLICT = "PrefixConflict";

/** Ready takes the first False dependent, else the first Unknown one: ordered as a plugin comes up. */
export const sourceConditions = new ConditionSet(READY, [WORKLOAD_AVAILABLE, CONNECTED, CONFIG_VALID]);
export const executorConditions = new ConditionSet(READY, [WORKLOAD_AVAILABLE, CONNECTED, CONFIG_VALID]);

export interface Verdict {
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
}

export interface PluginObservation {
  /** Problems validate*Spec found; non-empty means nothing else was attempted. */
  specProblems: readonly string[];
  mode?: RuntimeMode;
  suspended: boolean;
  workload: Verdict;
  /** The claim this plugin lost to an older one, if any. */
  lostClaim?: LostClaim;
  /** The hub's view; undefined when the plugin is not registered with the hub. */
  hub?: PluginState;
  executor: boolean;
}

export function markPluginConditions(conditions: ConditionManager, observation: PluginObservation): void {
  markDependents(conditions, observation);
  if (observation.executor) markPrefixConflict(conditions, observation);
}

function markDependents(conditions: ConditionManager, observation: PluginObservation): void {
  const { specProblems, suspended, workload, lostClaim, hub } = observation;
  const set = (type: string, verdict: Verdict) => mark(conditions, type, verdict);
  if (specProblems.length > 0) {
    const invalid: Verdict = { status: "False", reason: "InvalidSpec", message: specProblems.join("; ") };
    for (const type of [CONFIG_VALID, WORKLOAD_AVAILABLE, CONNECTED]) set(type, invalid);
    return;
  }
  set(WORKLOAD_AVAILABLE, workload);
  if (suspended) {
    const verdict: Verdict = { status: "False", reason: "Suspended", message: "spec.suspend is true" };
    set(CONFIG_VALID, { status: "Unknown", reason: "Suspended", message: "not checked while suspended" });
    set(CONNECTED, verdict);
    return;
  }
  set(CONFIG_VALID, configVerdict(hub));
  // A plugin that lost its name or a prefix to an older one is not handed to the hub.
  set(CONNECTED, lostClaim ? { status: "False", ...lostClaim } : connectedVerdict(hub));
}

function markPrefixConflict(conditions: ConditionManager, observation: PluginObservation): void {
  const { specProblems, lostClaim } = observation;
  if (specProblems.length > 0) {
    const message = `not checked: ${specProblems.join("; ")}`;
    mark(conditions, PREFIX_CONFLICT, { status: "Unknown", reason: "InvalidSpec", message });
  } else if (lostClaim?.reason === "PrefixConflict") {
    mark(conditions, PREFIX_CONFLICT, {
      status: "True",
      reason: "PrefixConflict",
      message: lostClaim.message,
    });
  } else {
    mark(conditions, PREFIX_CONFLICT, {
      status: "False",
      reason: "NoConflict",
      message: "no older executor serves any of its prefixes",
    });
  }
}

function mark(conditions: ConditionManager, type: string, verdict: Verdict): void {
  if (verdict.status === "True") conditions.markTrue(type, verdict.reason, verdict.message);
  else if (verdict.status === "False") conditions.markFalse(type, verdict.reason, verdict.message);
  else conditions.markUnknown(type, verdict.reason, verdict.message);
}

/**
 * What of the hub's view a plugin's status shows (its ConfigValid and Connected verdicts and the plugin
 * it describes): a hub state change that leaves this unchanged needs no reconcile.
 */
export function statusShownOf(hub: PluginState): object {
  const { name, version, description } = hub.plugin ?? {};
  return {
    config: configVerdict(hub),
    connected: connectedVerdict(hub),
    plugin: [name, version, description],
  };
}

function configVerdict(hub: PluginState | undefined): Verdict {
  if (hub?.phase === "ConfigInvalid")
    return { status: "False", reason: "ConfigInvalid", message: hub.message };
  if (hub?.plugin && hub.phase !== "Incompatible") {
    return {
      status: "True",
      reason: "SchemaAccepted",
      message: `the config satisfies ${hub.plugin.name}'s schema`,
    };
  }
  return {
    status: "Unknown",
    reason: "AwaitingPlugin",
    message: "checked against the plugin's schema once it answers Describe",
  };
}

function connectedVerdict(hub: PluginState | undefined): Verdict {
  if (!hub)
    return { status: "Unknown", reason: "NotRegistered", message: "not yet handed to the plugin hub" };
  const message = withoutRetryCountdown(hub.message);
  switch (hub.phase) {
    case "Ready":
    case "ConfigInvalid": {
      const plugin = hub.plugin ? `${hub.plugin.name} ${hub.plugin.version}` : "the plugin";
      return { status: "True", reason: "Connected", message: `${plugin} at ${hub.address}` };
    }
    case "Connecting":
      return { status: "Unknown", reason: hub.reason || "Connecting", message };
    case "Unavailable":
      // Registered without an address until the workload is available: waiting, not failing.
      if (hub.reason === "WorkloadUnavailable")
        return { status: "Unknown", reason: "AwaitingWorkload", message };
      return { status: "False", reason: hub.reason || hub.phase, message };
    default:
      return { status: "False", reason: hub.reason || hub.phase, message };
  }
}

/** The hub's retry countdown changes every attempt; in a status it would only cause writes. */
function withoutRetryCountdown(message: string): string {
  return message.replace(/ \(retry \d+ in \d+ ms\)$/, "");
}

/** WorkloadAvailable for a pod-mode plugin, from its Deployment. */
export function deploymentVerdict(deployment: V1Deployment | undefined, suspended: boolean): Verdict {
  if (suspended)
    return { status: "False", reason: "Suspended", message: "scaled to zero: spec.suspend is true" };
  if (!deployment)
    return { status: "Unknown", reason: "Deploying", message: "the Deployment is being created" };
  const available = deployment.status?.conditions?.find((condition) => condition.type === "Available");
  const ready = deployment.status?.availableReplicas ?? 0;
  const wanted = deployment.spec?.replicas ?? 1;
  const name = deployment.metadata?.name;
  if (available?.status === "True" && ready > 0) {
    return {
      status: "True",
      reason: "DeploymentAvailable",
      message: `Deployment ${name}: ${ready}/${wanted} replicas available`,
    };
  }
  if (!available) {
    return {
      status: "Unknown",
      reason: "Deploying",
      message: `Deployment ${name}: ${ready}/${wanted} replicas available`,
    };
  }
  return {
    status: "False",
    reason: "DeploymentUnavailable",
    message: `Deployment ${name}: ${ready}/${wanted} replicas available${available.message ? `: ${available.message}` : ""}`,
  };
}
