/**
 * Reconciles Notifiers: every change re-applies the whole set to the data plane (the router swaps
 * routes live), and each Notifier's status says whether its spec and secrets worked out.
 */
import { validateNotifierSpec, type NotifierStatus } from "../api/v1alpha1/index.ts";
import type { DataPlane, NotifierProblem } from "../app/index.ts";
import {
  ConditionSet,
  type EventRecorder,
  type ObjectKey,
  type Reconciler,
  type ReconcileResult,
  type ResourceInformer,
} from "../controller/index.ts";
import type { Logger } from "../observability/logger.ts";
import type { Cluster } from "./cluster.ts";
import { qualifiedName } from "./conflicts.ts";
import { CONFIG_VALID, READY } from "./plugin-status.ts";
import type { NotifierObject } from "./resources.ts";
import { writeStatus } from "./status-writer.ts";

export const notifierConditions = new ConditionSet(READY, [CONFIG_VALID]);

/** A Secret may appear later; look again after this long. */
const RETRY_PROBLEMS_MS = 30_000;

export interface NotifierReconcilerOptions {
  informer: ResourceInformer<NotifierObject>;
  cluster: Cluster;
  dataPlane: Pick<DataPlane, "setNotifiers">;
  recorder: Pick<EventRecorder, "event">;
  log: Logger;
}

export class NotifierReconciler implements Reconciler {
  readonly #options: NotifierReconcilerOptions;
  readonly #log: Logger;

  constructor(options: NotifierReconcilerOptions) {
    this.#options = options;
    this.#log = options.log.child({ reconciler: "notifiers" });
  }

  async reconcile(key: ObjectKey): Promise<ReconcileResult | void> {
    const all = this.#options.informer.list().filter((notifier) => !notifier.metadata.deletionTimestamp);
    const invalid = new Map<string, string[]>();
    for (const notifier of all) {
      const problems = validateNotifierSpec(notifier.spec);
      if (problems.length > 0) invalid.set(qualifiedName(notifier), problems);
    }
    const problems = await this.#options.dataPlane.setNotifiers(
      all.filter((notifier) => !invalid.has(qualifiedName(notifier))),
    );
    const notifier = this.#options.informer.get(key);
    if (!notifier || notifier.metadata.deletionTimestamp) return;
    const specProblems = invalid.get(qualifiedName(notifier));
    const applyProblem = problems.find((problem: NotifierProblem) => problem.name === notifier.metadata.name);

    const generation = notifier.metadata.generation ?? 0;
    const status: NotifierStatus = structuredClone(notifier.status ?? {});
    const conditions = notifierConditions.manage(status, generation);
    if (specProblems) conditions.markFalse(CONFIG_VALID, "InvalidSpec", specProblems.join("; "));
    else if (applyProblem) conditions.markFalse(CONFIG_VALID, "ConfigInvalid", applyProblem.message);
    else if (notifier.spec.suspend) conditions.markFalse(CONFIG_VALID, "Suspended", "spec.suspend is true");
    else conditions.markTrue(CONFIG_VALID, "Applied", `delivering to ${notifier.spec.type}`);
    status.observedGeneration = generation;
    const ready = conditions.get(READY);
    status.ready = ready?.status;
    status.reason = ready?.reason;
    const written = await writeStatus({
      cluster: this.#options.cluster,
      recorder: this.#options.recorder,
      log: this.#log,
      plural: "notifiers",
      object: notifier,
      status,
    });
    if (written) return written;
    if (applyProblem) return { requeueAfterMs: RETRY_PROBLEMS_MS };
  }
}
