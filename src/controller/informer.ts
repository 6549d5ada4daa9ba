/**
 * A shared informer for one resource: list, then watch from the list's resourceVersion, keeping a
 * local cache and emitting add / update / delete. Unlike client-node's makeInformer it never stops
 * on its own: a watch that errors or ends is restarted (resuming from the last resourceVersion
 * seen, with backoff after failures), a 410 Gone triggers a fresh list whose differences from the
 * cache are emitted as events, and every restart is counted. A failure is logged when it begins, then
 * summarised once a minute while it lasts, and its end is logged: never a line per retry.
 */
import { EventEmitter } from "node:events";
import {
  Watch,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from "@kubernetes/client-node";
import type { Logger } from "../observability/logger.ts";
import { keyOf, keyToString, type ObjectKey } from "./keys.ts";

export interface ResourceInformerOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  /** The collection's URL path, e.g. /apis/patchbay.dev/v1alpha1/namespaces/x/sourceplugins. */
  path: string;
  /** Lists the same collection (with the same label selector). */
  list: () => Promise<KubernetesListObject<T>>;
  labelSelector?: string;
  log: Logger;
  /** Delay before retrying after a failure: initialMs (100), doubling up to maxMs (30 000). */
  restartBackoff?: { initialMs: number; maxMs: number };
  /**
   * While failures go on in a row, how often one warning sums them up (default 60 000 ms); the first
   * failure is logged at once, the others at debug, so an unreachable API server is not a flood.
   */
  failureSummaryIntervalMs?: number;
}

export interface ResourceInformerEvents<T> {
  add: [obj: T];
  update: [oldObj: T, newObj: T];
  delete: [obj: T];
  /** The list/watch is being restarted; `reason` says why. */
  restart: [reason: string];
}

/** How one watch ended. `failed` ends count towards the backoff; `gone` ends force a re-list. */
interface WatchEnd {
  reason: string;
  failed: boolean;
  gone: boolean;
}

/** A watch that lived at least this long, or delivered an event, was healthy. */
const HEALTHY_WATCH_MS = 1000;

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code =
      (error as { statusCode?: number; code?: number }).statusCode ?? (error as { code?: unknown }).code;
    return typeof code === "number" ? `HTTP ${code}: ${error.message}` : `${error.name}: ${error.message}`;
  }
  return String(error);
}

function statusCodeOf(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { statusCode, code } = error as { statusCode?: unknown; code?: unknown };
  if (typeof statusCode === "number") return statusCode;
  return typeof code === "number" ? code : undefined;
}

export class ResourceInformer<T extends KubernetesObject> extends EventEmitter<ResourceInformerEvents<T>> {
  readonly path: string;
  readonly #watch: Watch;
  readonly #listFn: () => Promise<KubernetesListObject<T>>;
  readonly #labelSelector: string | undefined;
  readonly #log: Logger;
  readonly #backoff: { initialMs: number; maxMs: number };
  readonly #failureSummaryIntervalMs: number;
  readonly #cache = new Map<string, T>();
  #resourceVersion = "";
  #synced = false;
  #restarts = 0;
  #running: Promise<void> | undefined;
  #syncedPromise: Promise<void> | undefined;
  #stop: AbortController | undefined;

  constructor(opts: ResourceInformerOptions<T>) {
    super();
    this.path = opts.path;
    this.#watch = new Watch(opts.kubeConfig);
    this.#listFn = opts.list;
    this.#labelSelector = opts.labelSelector;
    this.#log = opts.log.child({ informer: opts.path });
    this.#backoff = opts.restartBackoff ?? { initialMs: 100, maxMs: 30_000 };
    this.#failureSummaryIntervalMs = opts.failureSummaryIntervalMs ?? 60_000;
  }

  /** Starts listing and watching (once); resolves when the first list is in the cache, or on stop(). */
  start(): Promise<void> {
    if (this.#syncedPromise) return this.#syncedPromise;
    const stop = new AbortController();
    this.#stop = stop;
    this.#syncedPromise = new Promise<void>((resolve) => {
      stop.signal.addEventListener("abort", () => resolve(), { once: true });
      this.#running = this.#run(stop.signal, resolve);
    });
    return this.#syncedPromise;
  }

  /** Stops watching; resolves when the watch loop has ended. The cache keeps its last contents. */
  async stop(): Promise<void> {
    this.#stop?.abort();
    const running = this.#running;
    this.#stop = undefined;
    this.#syncedPromise = undefined;
    this.#running = undefined;
    await running;
  }

  get hasSynced(): boolean {
    return this.#synced;
  }

  /** How many times the list/watch has been restarted, for any reason. */
  get restarts(): number {
    return this.#restarts;
  }

  /** The resourceVersion the next watch resumes from ("" means: list first). */
  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  list(): T[] {
    return [...this.#cache.values()];
  }

  get(key: ObjectKey): T | undefined {
    return this.#cache.get(keyToString(key));
  }

  async #run(signal: AbortSignal, onSynced: () => void): Promise<void> {
    let failures = 0;
    // The run of failures being reported: when it began, when it was last logged, how long it is.
    // Kept apart from `failures` (the backoff), which only a healthy watch resets.
    let failing: { since: number; reportedAt: number; attempts: number } | undefined;
    const recovered = () => {
      if (!failing) return;
      this.#log.info("watch recovered", {
        failuresInARow: failing.attempts,
        failingForSeconds: Math.round((performance.now() - failing.since) / 1000),
      });
      failing = undefined;
    };
    // Restarted after stop(): the cache is still synced and the watch resumes where it was.
    if (this.#synced) onSynced();
    while (!signal.aborted) {
      let end: WatchEnd;
      try {
        if (!this.#resourceVersion) {
          await this.#relist();
          this.#synced = true;
          recovered();
          onSynced();
        }
        end = await this.#watchOnce(signal);
      } catch (error) {
        end = { reason: `list failed: ${errorText(error)}`, failed: true, gone: statusCodeOf(error) === 410 };
      }
      if (signal.aborted) break;
      if (end.gone) this.#resourceVersion = "";
      failures = end.failed ? failures + 1 : 0;
      const delayMs =
        failures === 0 ? 0 : Math.min(this.#backoff.initialMs * 2 ** (failures - 1), this.#backoff.maxMs);
      this.#restarts += 1;
      const fields = {
        reason: end.reason,
        relist: !this.#resourceVersion,
        delayMs,
        restarts: this.#restarts,
      };
      const now = performance.now();
      if (end.failed && !failing) {
        failing = { since: now, reportedAt: now, attempts: 1 };
        this.#log.warn("restarting watch", {
          ...fields,
          note: "retrying with backoff; while this goes on, a summary is logged once a minute",
        });
      } else if (end.failed && failing) {
        failing.attempts += 1;
        if (now - failing.reportedAt >= this.#failureSummaryIntervalMs) {
          failing.reportedAt = now;
          this.#log.warn("watch still failing", {
            ...fields,
            failuresInARow: failing.attempts,
            failingForSeconds: Math.round((now - failing.since) / 1000),
          });
        } else this.#log.debug("restarting watch", fields);
      } else {
        recovered();
        if (end.gone) this.#log.warn("restarting watch", fields);
        else this.#log.debug("restarting watch", fields);
      }
      this.#emitSafely("restart", end.reason);
      if (delayMs > 0) await sleep(delayMs, signal);
    }
  }

  /** Lists afresh and reconciles the cache with the list, emitting the differences. */
  async #relist(): Promise<void> {
    const list = await this.#listFn();
    const fresh = new Map<string, T>();
    for (const obj of list.items) fresh.set(keyToString(keyOf(obj)), obj);
    for (const [key, old] of this.#cache) {
      if (!fresh.has(key)) {
        this.#cache.delete(key);
        this.#emitSafely("delete", old);
      }
    }
    for (const [key, obj] of fresh) this.#upsert(key, obj, true);
    this.#resourceVersion = list.metadata?.resourceVersion ?? "";
  }

  #upsert(key: string, obj: T, skipUnchanged: boolean): void {
    const old = this.#cache.get(key);
    this.#cache.set(key, obj);
    if (!old) this.#emitSafely("add", obj);
    else if (!skipUnchanged || old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) {
      this.#emitSafely("update", old, obj);
    }
  }

  /** One watch from the current resourceVersion; resolves with why it ended. */
  async #watchOnce(signal: AbortSignal): Promise<WatchEnd> {
    const startedAt = performance.now();
    let delivered = false;
    let gone = false;
    let serverError: string | undefined;
    let request: AbortController | undefined;
    const ended = new Promise<unknown>((resolve) => {
      const query: Record<string, string | number | boolean | undefined> = {
        resourceVersion: this.#resourceVersion,
        allowWatchBookmarks: true,
        labelSelector: this.#labelSelector,
        // End the watch on the server side before client-node's 30 s inactivity timeout does.
        timeoutSeconds: 20 + Math.floor(Math.random() * 8),
      };
      const onEvent = (type: string, obj: T & { code?: number; message?: string }) => {
        if (signal.aborted) return;
        if (type === "ERROR") {
          gone = obj.code === 410;
          serverError = `watch error event: ${obj.code ?? "?"} ${obj.message ?? ""}`.trim();
          request?.abort();
          return;
        }
        delivered = true;
        this.#apply(type, obj);
      };
      this.#watch.watch(this.path, query, onEvent, resolve).then((controller) => {
        request = controller;
        if (signal.aborted || serverError) controller.abort();
      }, resolve);
    });
    const abort = () => request?.abort();
    signal.addEventListener("abort", abort, { once: true });
    try {
      const error = await ended;
      const healthy = delivered || performance.now() - startedAt >= HEALTHY_WATCH_MS;
      if (serverError) return { reason: serverError, failed: !gone, gone };
      if (error) {
        const timedOut = error instanceof Error && error.name === "TimeoutError";
        const code = statusCodeOf(error);
        return {
          reason: `watch failed: ${errorText(error)}`,
          failed: !timedOut && code !== 410 && !healthy,
          gone: code === 410,
        };
      }
      return { reason: "watch ended by the server", failed: !healthy, gone: false };
    } finally {
      signal.removeEventListener("abort", abort);
    }
  }

  #apply(type: string, obj: T): void {
    const resourceVersion = obj.metadata?.resourceVersion;
    if (type === "BOOKMARK") {
      if (resourceVersion) this.#resourceVersion = resourceVersion;
      return;
    }
    let key: string;
    try {
      key = keyToString(keyOf(obj));
    } catch {
      this.#log.warn("ignoring watch event for an object without a name", { type });
      return;
    }
    if (type === "ADDED" || type === "MODIFIED") this.#upsert(key, obj, false);
    else if (type === "DELETED") {
      this.#cache.delete(key);
      this.#emitSafely("delete", obj);
    } else {
      this.#log.warn("ignoring unknown watch event type", { type });
      return;
    }
    if (resourceVersion) this.#resourceVersion = resourceVersion;
  }

  /** A throwing listener must not break the watch loop. */
  #emitSafely<E extends keyof ResourceInformerEvents<T>>(
    event: E,
    ...args: ResourceInformerEvents<T>[E]
  ): void {
    try {
      (this.emit as (event: E, ...args: ResourceInformerEvents<T>[E]) => boolean)(event, ...args);
    } catch (error) {
      this.#log.error("informer event handler threw", { event, error: errorText(error) });
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
