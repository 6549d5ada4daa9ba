/**
 * A controller in controller-runtime's sense: informers feed keys into a work queue, workers take
 * keys and call the reconciler. The queue guarantees no key is reconciled twice at once; a
 * reconcile that throws is retried with per-key exponential backoff, one that succeeds resets it.
 */
import { isDeepStrictEqual } from "node:util";
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Registry } from "prom-client";
import type { Logger } from "../observability/logger.ts";
import type { ResourceInformer } from "./informer.ts";
import { keyFromString, keyOf, keyToString, type ObjectKey } from "./keys.ts";
import { reconcileMetrics, type ReconcileMetrics } from "./metrics.ts";
import type { RateLimiter } from "./rate-limiter.ts";
import { WorkQueue } from "./work-queue.ts";

export interface ReconcileResult {
  /** Reconcile this key again after this long (a poll), without counting it as a failure. */
  requeueAfterMs?: number;
  /** Reconcile again soon, with the key's backoff, without logging an error. */
  requeue?: boolean;
}

export interface Reconciler {
  /**
   * Brings the world in line with the object named by `key` (which may be gone: then clean up).
   * Throwing means "try again later" with backoff. `signal` aborts when the controller stops.
   */
  reconcile(key: ObjectKey, signal: AbortSignal): Promise<ReconcileResult | void>;
}

export interface ControllerOptions {
  name: string;
  reconciler: Reconciler;
  registry?: Registry;
  /** Workers reconciling different keys in parallel (1). */
  maxConcurrentReconciles?: number;
  log: Logger;
  /** The queue's rate limiter; client-go's default (5 ms…1000 s per key, 10 qps/100 burst). */
  rateLimiter?: RateLimiter;
}

interface WatchedSource {
  informer: ResourceInformer<KubernetesObject>;
  keysOf: (obj: KubernetesObject) => ObjectKey[];
}

export interface WatchOptions<T extends KubernetesObject> {
  /**
   * Whether an update is worth a reconcile (controller-runtime's predicates); default: every update.
   * Adds and deletes always are.
   */
  updateMatters?: (old: T, obj: T) => boolean;
}

/**
 * An update that changed more than the status (controller-runtime's GenerationChangedPredicate, plus the
 * metadata a reconcile acts on). The reconciler's own status writes would otherwise each trigger another
 * reconcile of an object whose spec did not move: work, and GETs, for nothing.
 */
export function specOrMetadataChanged(old: KubernetesObject, obj: KubernetesObject): boolean {
  const before = old.metadata ?? {};
  const after = obj.metadata ?? {};
  return (
    before.generation !== after.generation ||
    before.deletionTimestamp !== after.deletionTimestamp ||
    !isDeepStrictEqual(before.finalizers ?? [], after.finalizers ?? []) ||
    !isDeepStrictEqual(before.labels ?? {}, after.labels ?? {}) ||
    !isDeepStrictEqual(before.annotations ?? {}, after.annotations ?? {})
  );
}

export class Controller {
  readonly name: string;
  readonly #reconciler: Reconciler;
  readonly #registry: Registry | undefined;
  readonly #workers: number;
  readonly #log: Logger;
  readonly #rateLimiter: RateLimiter | undefined;
  readonly #metrics: ReconcileMetrics;
  readonly #sources: WatchedSource[] = [];
  #queue: WorkQueue | undefined;

  constructor(opts: ControllerOptions) {
    this.name = opts.name;
    this.#reconciler = opts.reconciler;
    this.#registry = opts.registry;
    this.#workers = Math.max(1, opts.maxConcurrentReconciles ?? 1);
    this.#log = opts.log.child({ controller: opts.name });
    this.#rateLimiter = opts.rateLimiter;
    this.#metrics = reconcileMetrics(opts.registry);
    this.#metrics.maxConcurrent.set({ controller: this.name }, this.#workers);
    this.#metrics.activeWorkers.set({ controller: this.name }, 0);
    for (const result of ["success", "error", "requeue", "requeue_after"]) {
      this.#metrics.total.inc({ controller: this.name, result }, 0);
    }
    this.#metrics.errors.inc({ controller: this.name }, 0);
  }

  /** The informers this controller watches (the manager starts them and reports their sync). */
  get informers(): ResourceInformer<KubernetesObject>[] {
    return this.#sources.map((source) => source.informer);
  }

  /**
   * Reconciles the keys `map` returns for every object the informer adds, updates or deletes;
   * by default the object's own key. Call before start().
   */
  watch<T extends KubernetesObject>(
    informer: ResourceInformer<T>,
    map?: (obj: T) => ObjectKey[],
    options: WatchOptions<T> = {},
  ): this {
    const keysOf = (map ?? ((obj: T) => [keyOf(obj)])) as (obj: KubernetesObject) => ObjectKey[];
    const source: WatchedSource = {
      informer: informer as unknown as ResourceInformer<KubernetesObject>,
      keysOf,
    };
    this.#sources.push(source);
    const updateMatters = options.updateMatters ?? (() => true);
    informer.on("add", (obj) => this.#enqueueFor(source, obj));
    informer.on("update", (old, obj) => {
      if (updateMatters(old, obj)) this.#enqueueFor(source, obj);
    });
    informer.on("delete", (obj) => this.#enqueueFor(source, obj));
    return this;
  }

  /** Queues `key` for reconciliation; ignored while the controller is not running. */
  enqueue(key: ObjectKey): void {
    this.#queue?.add(keyToString(key));
  }

  /** Queues `key` after `ms`; ignored while the controller is not running. */
  enqueueAfter(key: ObjectKey, ms: number): void {
    this.#queue?.addAfter(keyToString(key), ms);
  }

  /**
   * Starts the informers (if not yet started), waits for them to sync, queues every cached
   * object, and runs the workers until `signal` aborts; resolves when the last worker has stopped.
   */
  async start(signal: AbortSignal): Promise<void> {
    if (this.#queue) throw new Error(`controller ${this.name} is already running`);
    if (signal.aborted) return;
    const queue = new WorkQueue({
      name: this.name,
      registry: this.#registry,
      rateLimiter: this.#rateLimiter,
    });
    this.#queue = queue;
    const stop = () => queue.shutDown();
    signal.addEventListener("abort", stop, { once: true });
    try {
      // Informers that never sync (e.g. the CRDs are not installed) must not hold up a shutdown.
      const aborted = new Promise<void>((resolve) =>
        signal.addEventListener("abort", () => resolve(), { once: true }),
      );
      await Promise.race([Promise.all(this.#sources.map((source) => source.informer.start())), aborted]);
      if (signal.aborted) return;
      for (const source of this.#sources) {
        for (const obj of source.informer.list()) this.#enqueueFor(source, obj);
      }
      this.#log.info("starting workers", { workers: this.#workers });
      await Promise.all(Array.from({ length: this.#workers }, () => this.#runWorker(queue, signal)));
      this.#log.info("all workers stopped");
    } finally {
      signal.removeEventListener("abort", stop);
      queue.shutDown();
      this.#queue = undefined;
    }
  }

  #enqueueFor(source: WatchedSource, obj: KubernetesObject): void {
    const queue = this.#queue;
    if (!queue) return;
    let keys: ObjectKey[];
    try {
      keys = source.keysOf(obj);
    } catch (error) {
      this.#log.error("cannot map object to keys", { object: obj.metadata?.name, error: String(error) });
      return;
    }
    for (const key of keys) queue.add(keyToString(key));
  }

  async #runWorker(queue: WorkQueue, signal: AbortSignal): Promise<void> {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      if (signal.aborted) {
        queue.done(key);
        return;
      }
      this.#metrics.activeWorkers.inc({ controller: this.name });
      try {
        await this.#reconcileOne(queue, key, signal);
      } finally {
        this.#metrics.activeWorkers.dec({ controller: this.name });
        queue.done(key);
      }
    }
  }

  async #reconcileOne(queue: WorkQueue, key: string, signal: AbortSignal): Promise<void> {
    const labels = { controller: this.name };
    const endTimer = this.#metrics.time.startTimer(labels);
    let result: ReconcileResult | void;
    try {
      result = await this.#reconciler.reconcile(keyFromString(key), signal);
    } catch (error) {
      endTimer();
      if (signal.aborted) {
        // Stopping (or no longer leading): the failure is the stop's doing, and the next run retries.
        this.#log.info("reconcile interrupted by stop", { key, error: errorMessage(error) });
        return;
      }
      this.#metrics.errors.inc(labels);
      this.#metrics.total.inc({ ...labels, result: "error" });
      this.#log.error("reconcile failed", {
        key,
        retries: queue.numRequeues(key),
        error: errorMessage(error),
      });
      queue.addRateLimited(key);
      return;
    }
    endTimer();
    if (result?.requeueAfterMs !== undefined && result.requeueAfterMs > 0) {
      queue.forget(key);
      queue.addAfter(key, result.requeueAfterMs);
      this.#metrics.total.inc({ ...labels, result: "requeue_after" });
    } else if (result?.requeue) {
      queue.addRateLimited(key);
      this.#metrics.total.inc({ ...labels, result: "requeue" });
    } else {
      queue.forget(key);
      this.#metrics.total.inc({ ...labels, result: "success" });
    }
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
