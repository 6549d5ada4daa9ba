/**
 * Reconciles Notifiers on the leader: each Notifier's status says whether its spec and secrets
 * worked out. Applying them to the data plane is the DataPlaneSync's, on every replica; this waits
 * for it to catch up with the cache and reports its verdict.
 */
import type { NotifierStatus } from "../api/v1alpha1/index.ts";
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
import type { DataPlaneSync } from "./data-plane-sync.ts";
import { CONFIG_VALID, READY } from "./plugin-status.ts";
import type { NotifierObject } from "./resources.ts";
import { writeStatus } from "./status-writer.ts";

export const notifierConditions = new ConditionSet(READY, [CONFIG_VALID]);

export interface NotifierReconcilerOptions {
  informer: ResourceInformer<NotifierObject>;
  cluster: Cluster;
  sync: Pick<DataPlaneSync, "syncNotifiers">;
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
    const verdicts = await this.#options.sync.syncNotifiers();
    const notifier = this.#options.informer.get(key);
    if (!notifier || notifier.metadata.deletionTimestamp) return;
    const verdict = verdicts.get(qualifiedName(notifier));

    const generation = notifier.metadata.generation ?? 0;
    const status: NotifierStatus = structuredClone(notifier.status ?? {});
    const conditions = notifierConditions.manage(status, generation);
    if (verdict) conditions.markFalse(CONFIG_VALID, verdict.reason, verdict.message);
    else if (notifier.spec.suspend) conditions.markFalse(CONFIG_VALID, "Suspended", "spec.suspend is true");
    else conditions.markTrue(CONFIG_VALID, "Applied", `delivering to ${notifier.spec.type}`);
    status.observedGeneration = generation;
    const ready = conditions.get(READY);
    status.ready = ready?.status;
    status.reason = ready?.reason;
    return writeStatus({
      cluster: this.#options.cluster,
      recorder: this.#options.recorder,
      log: this.#log,
      plural: "notifiers",
      object: notifier,
      status,
    });
  }
}
