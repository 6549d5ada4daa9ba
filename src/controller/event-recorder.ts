/**
 * Kubernetes Events about our objects (core v1), best-effort: a failure to record is logged, never
 * thrown. A repeat of one (object, type, reason, message) within the aggregation window bumps the
 * existing Event's count and lastTimestamp instead of creating another, as client-go's
 * EventCorrelator does.
 */
import { hostname } from "node:os";
import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
} from "@kubernetes/client-node";
import type { Logger } from "../observability/logger.ts";

export type EventType = "Normal" | "Warning";

export interface EventRecorderOptions {
  kubeConfig: KubeConfig;
  /** source.component / reportingComponent, e.g. "patchbay-operator". */
  component: string;
  log: Logger;
  /** Repeats within this window are aggregated into one Event (10 minutes). */
  aggregationWindowMs?: number;
  /** Asked before each Event; false skips it (e.g. a replica that no longer leads records nothing). */
  mayRecord?: () => boolean;
}

interface RecordedEvent {
  namespace: string;
  name: string;
  count: number;
  lastSeen: number;
}

/** Bounds the aggregation cache like client-go's LRU (4096 entries). */
const MAX_TRACKED = 4096;
const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

export class EventRecorder {
  readonly #api: CoreV1Api;
  readonly #component: string;
  readonly #instance = hostname();
  readonly #log: Logger;
  readonly #windowMs: number;
  readonly #mayRecord: () => boolean;
  readonly #recent = new Map<string, RecordedEvent>();
  #sequence = 0;

  constructor(opts: EventRecorderOptions) {
    this.#api = opts.kubeConfig.makeApiClient(CoreV1Api);
    this.#component = opts.component;
    this.#log = opts.log;
    this.#windowMs = opts.aggregationWindowMs ?? 10 * 60_000;
    this.#mayRecord = opts.mayRecord ?? (() => true);
  }

  /** Records an Event about `obj`; never throws. */
  async event(obj: KubernetesObject, type: EventType, reason: string, message: string): Promise<void> {
    if (!this.#mayRecord()) return;
    const meta = obj.metadata ?? {};
    const namespace = meta.namespace ?? "default";
    const subject = meta.uid ?? `${obj.kind}/${namespace}/${meta.name}`;
    const key = JSON.stringify([subject, type, reason, message]);
    const now = new Date();
    try {
      const recent = this.#recent.get(key);
      if (recent && now.getTime() - recent.lastSeen < this.#windowMs && (await this.#bump(recent, now)))
        return;
      const name = `${meta.name ?? "unknown"}.${(now.getTime() * 1000 + (this.#sequence++ % 1000)).toString(16)}`;
      await this.#api.createNamespacedEvent({
        namespace,
        body: {
          metadata: { name, namespace },
          involvedObject: {
            apiVersion: obj.apiVersion,
            kind: obj.kind,
            name: meta.name,
            namespace: meta.namespace,
            uid: meta.uid,
            resourceVersion: meta.resourceVersion,
          },
          type,
          reason,
          message,
          count: 1,
          firstTimestamp: now,
          lastTimestamp: now,
          source: { component: this.#component, host: this.#instance },
          reportingComponent: this.#component,
          reportingInstance: this.#instance,
        },
      });
      this.#remember(key, { namespace, name, count: 1, lastSeen: now.getTime() });
    } catch (error) {
      this.#log.warn("cannot record event", {
        reason,
        object: `${namespace}/${meta.name}`,
        error: error instanceof Error ? error.message.split("\n")[0] : String(error),
      });
    }
  }

  /** Increments an Event recorded earlier; false if it is gone (then a new one is created). */
  async #bump(recent: RecordedEvent, now: Date): Promise<boolean> {
    try {
      await this.#api.patchNamespacedEvent(
        {
          name: recent.name,
          namespace: recent.namespace,
          body: { count: recent.count + 1, lastTimestamp: now.toISOString() },
        },
        mergePatch,
      );
    } catch (error) {
      if ((error as { code?: unknown }).code === 404) return false;
      throw error;
    }
    recent.count += 1;
    recent.lastSeen = now.getTime();
    return true;
  }

  #remember(key: string, event: RecordedEvent): void {
    if (this.#recent.size >= MAX_TRACKED) {
      const oldest = this.#recent.keys().next().value;
      if (oldest !== undefined) this.#recent.delete(oldest);
    }
    this.#recent.set(key, event);
  }
}
