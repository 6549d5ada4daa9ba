/**
 * Actions in the cluster. ActionSync runs on every replica (each has an ingress, so each routes events
 * and must run the actions): it applies the Actions in the cache to the data plane whenever one
 * changes. ActionReconciler runs on the leader: each Action's status says whether its command template
 * is well formed (TemplateValid), whether the ExecutorPlugins it names exist (ExecutorsFound) and
 * whether it is applied (Ready), for the generation it looked at.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import {
  actionTemplateProblems,
  validateActionSpec,
  type Action,
  type ActionStatus,
} from "../api/v1alpha1/index.ts";
import {
  ConditionSet,
  type EventRecorder,
  type ObjectKey,
  type Reconciler,
  type ReconcileResult,
  type ResourceInformer,
  type Runnable,
} from "../controller/index.ts";
import type { Logger } from "../observability/logger.ts";
import type { Cluster } from "./cluster.ts";
import { qualifiedName } from "./conflicts.ts";
import { CONFIG_VALID, READY } from "./plugin-status.ts";
import { writeStatus } from "./status-writer.ts";

export type ActionObject = Action & KubernetesObject;

export const TEMPLATE_VALID = "TemplateValid";
export const EXECUTORS_FOUND = "ExecutorsFound";
export const actionConditions = new ConditionSet(READY, [TEMPLATE_VALID, EXECUTORS_FOUND, CONFIG_VALID]);

/** Why an Action is not running, by namespace/name. */
export type ActionVerdicts = Map<string, { reason: string; message: string }>;

export interface ActionSyncOptions {
  informer: ResourceInformer<ActionObject>;
  dataPlane: { setActions(actions: readonly Action[]): { name: string; message: string }[] };
  log: Logger;
}

export class ActionSync implements Runnable {
  readonly needLeaderElection = false;
  readonly #options: ActionSyncOptions;
  readonly #log: Logger;
  #verdicts: ActionVerdicts = new Map();

  constructor(options: ActionSyncOptions) {
    this.#options = options;
    this.#log = options.log.child({ component: "action-sync" });
  }

  get informers(): ResourceInformer<KubernetesObject>[] {
    return [this.#options.informer as unknown as ResourceInformer<KubernetesObject>];
  }

  async start(signal: AbortSignal): Promise<void> {
    const { informer } = this.#options;
    const aborted = new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener("abort", () => resolve(), { once: true });
    });
    await Promise.race([informer.start(), aborted]);
    if (signal.aborted) return;
    const apply = () => void this.apply();
    const onUpdate = () => apply();
    informer.on("add", apply);
    informer.on("update", onUpdate);
    informer.on("delete", apply);
    this.apply();
    await aborted;
    informer.off("add", apply);
    informer.off("update", onUpdate);
    informer.off("delete", apply);
    this.#options.dataPlane.setActions([]);
  }

  /**
   * Applies every Action in the cache; returns the verdict on each one that does not run. Two Actions
   * of one name in different namespaces: the first by namespace runs (metrics and logs name actions
   * by name, so they must be unique).
   */
  apply(): ActionVerdicts {
    const verdicts: ActionVerdicts = new Map();
    const byName = new Map<string, ActionObject>();
    const live = this.#options.informer
      .list()
      .filter((action) => !action.metadata.deletionTimestamp)
      .sort((a, b) => qualifiedName(a).localeCompare(qualifiedName(b)));
    for (const action of live) {
      const first = byName.get(action.metadata.name);
      if (first) {
        verdicts.set(qualifiedName(action), {
          reason: "NameConflict",
          message: `the Action ${qualifiedName(first)} has the same name; Action names must be unique across the namespaces Patchbay watches`,
        });
        continue;
      }
      const problems = validateActionSpec(action.spec);
      if (problems.length > 0) {
        verdicts.set(qualifiedName(action), { reason: "Invalid", message: problems.join("; ") });
        continue;
      }
      byName.set(action.metadata.name, action);
    }
    const applied = [...byName.values()];
    for (const problem of this.#options.dataPlane.setActions(applied)) {
      const action = applied.find((candidate) => candidate.metadata.name === problem.name)!;
      verdicts.set(qualifiedName(action), { reason: "Invalid", message: problem.message });
    }
    if (verdicts.size > 0) this.#log.info("actions not running", { actions: [...verdicts.keys()] });
    this.#verdicts = verdicts;
    return verdicts;
  }

  get verdicts(): ActionVerdicts {
    return this.#verdicts;
  }
}

export interface ActionReconcilerOptions {
  informer: ResourceInformer<ActionObject>;
  /** The ExecutorPlugins in the cache: an Action naming one that does not exist cannot run. */
  executors: ResourceInformer<KubernetesObject>;
  cluster: Cluster;
  sync: Pick<ActionSync, "apply">;
  recorder: Pick<EventRecorder, "event">;
  log: Logger;
}

export class ActionReconciler implements Reconciler {
  readonly #options: ActionReconcilerOptions;
  readonly #log: Logger;

  constructor(options: ActionReconcilerOptions) {
    this.#options = options;
    this.#log = options.log.child({ reconciler: "actions" });
  }

  async reconcile(key: ObjectKey): Promise<ReconcileResult | void> {
    const action = this.#options.informer.get(key);
    if (!action || action.metadata.deletionTimestamp) return;
    const verdict = this.#options.sync.apply().get(qualifiedName(action));
    const generation = action.metadata.generation ?? 0;
    const status: ActionStatus = structuredClone(action.status ?? {});
    const conditions = actionConditions.manage(status, generation);
    const templateProblems = actionTemplateProblems(action.spec.command ?? "");
    if (templateProblems.length > 0)
      conditions.markFalse(TEMPLATE_VALID, "InvalidTemplate", templateProblems.join("; "));
    else conditions.markTrue(TEMPLATE_VALID, "Valid", "every placeholder fills one argument");
    const missing = this.#missingExecutors(action.spec.executors);
    if (missing.length > 0) {
      const names = missing.map((name) => `"${name}"`).join(", ");
      conditions.markFalse(
        EXECUTORS_FOUND,
        "ExecutorNotFound",
        `no ExecutorPlugin named ${names}: its runs would be refused until one is created`,
      );
    } else conditions.markTrue(EXECUTORS_FOUND, "Found", "every executor named exists");
    if (action.spec.suspend) conditions.markFalse(CONFIG_VALID, "Suspended", "spec.suspend is true");
    else if (verdict) conditions.markFalse(CONFIG_VALID, verdict.reason, verdict.message);
    else
      conditions.markTrue(
        CONFIG_VALID,
        "Applied",
        `runs on ${action.spec.executors.join(", ")}; result: ${action.spec.result.mode}`,
      );
    status.observedGeneration = generation;
    const ready = conditions.get(READY);
    status.ready = ready?.status;
    status.reason = ready?.reason;
    return writeStatus({
      cluster: this.#options.cluster,
      recorder: this.#options.recorder,
      log: this.#log,
      plural: "actions",
      object: action,
      status,
    });
  }

  /** Executors are found by name in any namespace Patchbay watches, as the dispatcher finds them. */
  #missingExecutors(names: readonly string[]): string[] {
    const existing = new Set(
      this.#options.executors
        .list()
        .filter((executor) => !executor.metadata?.deletionTimestamp)
        .map((executor) => executor.metadata?.name),
    );
    return names.filter((name) => !existing.has(name));
  }
}

/** The Actions that name an executor: reconciled again when it is created or deleted. */
export function actionsUsing(
  actions: ResourceInformer<ActionObject>,
  executor: KubernetesObject,
): ObjectKey[] {
  const name = executor.metadata?.name;
  return actions
    .list()
    .filter((action) => name !== undefined && action.spec.executors.includes(name))
    .map((action) => ({ namespace: action.metadata.namespace, name: action.metadata.name }));
}
