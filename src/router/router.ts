/**
 * The router: every event (from a source stream or the ingress) is deduplicated on (source, id), then
 * queued for each notifier that selects its source and whose filter it passes. It knows nothing of
 * Kubernetes: it is told the sources' labels and the desired notifiers, and applies changes live.
 *
 * Hot path: a source's target list and metric children are cached per configuration generation, so
 * publishing allocates only the dedup key and, for a routed event, one record of its size: measured
 * once (walking the event, never serialising it) and shared by every notifier queue that takes it.
 */
import type { Registry } from "prom-client";
import type { CloudEvent } from "../events/cloudevent.ts";
import { createLogger, type Logger } from "../observability/logger.ts";
import { DedupWindow, type DedupOptions } from "./dedup.ts";
import { MemoryLedger, type HeldEvent, type MemoryUse } from "./memory-ledger.ts";
import { forgetQueueDepths, routerMetrics, type RouterMetrics } from "./metrics.ts";
import { SelectionError } from "./selection.ts";
import { compileRoute, NotifierWorker, type NotifierRoute, type NotifierStats } from "./worker.ts";

export interface RouterOptions {
  /** Where the router's metrics are registered. */
  registry: Registry;
  logger?: Logger;
  dedup?: DedupOptions;
  /**
   * Most bytes of events held across all queues (estimated; an event routed to several notifiers counts
   * once). The router itself never refuses an event for it; the ingress reads memoryUse() and answers
   * 503 beyond it. Default 128 MiB.
   */
  memoryBudgetBytes?: number;
  /** Most bytes of events one notifier's queue holds; beyond it the oldest are dropped. Default 32 MiB. */
  notifierQueueBytes?: number;
}

export const DEFAULT_MEMORY_BUDGET_BYTES = 128 * 1024 * 1024;
export const DEFAULT_NOTIFIER_QUEUE_BYTES = 32 * 1024 * 1024;

/** A SourcePlugin as the router needs it: its name and labels, for notifiers' label selectors. */
export interface SourceLabels {
  name: string;
  labels?: Record<string, string>;
}

export type PublishResult = "routed" | "unrouted" | "duplicate" | "rejected";

export interface RouterStats {
  /** Events published while accepting (duplicates included). */
  received: number;
  duplicates: number;
  /** Events no notifier selected. */
  unrouted: number;
  /** Events published after drain() began; never queued. */
  rejected: number;
  notifiers: Record<string, NotifierStats>;
}

export class RouterConfigError extends Error {
  override name = "RouterConfigError";
}

interface Counter {
  inc(): void;
}

interface Target {
  worker: NotifierWorker;
  routed: Counter;
}

interface SourceState {
  generation: number;
  targets: Target[];
  received: Counter;
  duplicates: Counter;
}

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});
/** Bounds the per-source cache if a caller publishes many source names nobody declared. */
const MAX_CACHED_SOURCES = 10_000;

export class Router {
  readonly #registry: Registry;
  readonly #metrics: RouterMetrics;
  readonly #log: Logger;
  readonly #dedup: DedupWindow;
  readonly #ledger: MemoryLedger;
  readonly #notifierQueueBytes: number;
  readonly #workers = new Map<string, NotifierWorker>();
  #labels = new Map<string, Readonly<Record<string, string>>>();
  readonly #sources = new Map<string, SourceState>();
  #generation = 0;
  #accepting = true;
  #received = 0;
  #duplicates = 0;
  #unrouted = 0;
  #rejected = 0;

  constructor(options: RouterOptions) {
    this.#registry = options.registry;
    this.#log = options.logger ?? createLogger("router");
    this.#dedup = new DedupWindow(options.dedup);
    this.#ledger = new MemoryLedger(positive(options.memoryBudgetBytes, DEFAULT_MEMORY_BUDGET_BYTES));
    this.#notifierQueueBytes = positive(options.notifierQueueBytes, DEFAULT_NOTIFIER_QUEUE_BYTES);
    this.#metrics = routerMetrics(options.registry, this);
  }

  /** Routes one event; synchronous, never throws for a well-formed CloudEvent. */
  publish(event: CloudEvent): PublishResult {
    if (!this.#accepting) {
      this.#rejected++;
      return "rejected";
    }
    const source = this.#sourceState(event.source);
    this.#received++;
    source.received.inc();
    if (this.#dedup.seen(event.source, event.id, Date.now())) {
      this.#duplicates++;
      source.duplicates.inc();
      return "duplicate";
    }
    let held: HeldEvent | undefined;
    const targets = source.targets;
    for (let i = 0; i < targets.length; i++) {
      const target = targets[i]!;
      const filter = target.worker.filter;
      if (filter === undefined || filter(event)) {
        held ??= this.#ledger.hold(event);
        held.holders++;
        target.worker.enqueue(held);
        target.routed.inc();
      }
    }
    if (held !== undefined) return "routed";
    this.#unrouted++;
    return "unrouted";
  }

  /**
   * Queues an event for the named notifiers only, past selection and dedup: an Action's follow-up,
   * addressed to the notifiers the Action names. Returns the names no running notifier has.
   */
  publishTo(event: CloudEvent, notifiers: readonly string[]): string[] {
    if (!this.#accepting) {
      this.#rejected++;
      return [];
    }
    const unknown: string[] = [];
    let held: HeldEvent | undefined;
    for (const name of notifiers) {
      const worker = this.#workers.get(name);
      if (worker === undefined) {
        unknown.push(name);
        continue;
      }
      held ??= this.#ledger.hold(event);
      held.holders++;
      worker.enqueue(held);
    }
    return unknown;
  }

  /** The full set of known sources and their labels; sources not listed have no labels. */
  setSources(sources: readonly SourceLabels[]): void {
    const labels = new Map<string, Readonly<Record<string, string>>>();
    for (const source of sources) labels.set(source.name, Object.freeze({ ...source.labels }));
    this.#labels = labels;
    this.#generation++;
  }

  /**
   * Applies the desired set of notifiers: new ones start, changed ones are reconfigured in place
   * (their queues kept), missing ones stop and count what they held as dropped (reason "removed").
   * All or nothing: an invalid route throws a RouterConfigError and changes nothing.
   */
  setNotifiers(routes: readonly NotifierRoute[]): void {
    if (!this.#accepting) throw new RouterConfigError("the router is draining and takes no notifier changes");
    const compiled = new Map<string, { route: NotifierRoute; compiled: ReturnType<typeof compileRoute> }>();
    for (const route of routes) {
      if (!route.name) throw new RouterConfigError("a notifier needs a name");
      if (compiled.has(route.name)) throw new RouterConfigError(`notifier "${route.name}" is listed twice`);
      try {
        compiled.set(route.name, { route, compiled: compileRoute(route) });
      } catch (error) {
        if (!(error instanceof SelectionError)) throw error;
        throw new RouterConfigError(`notifier "${route.name}": ${error.message}`);
      }
    }
    const added: string[] = [];
    for (const [name, worker] of this.#workers) {
      if (compiled.has(name)) continue;
      worker.stop("removed");
      this.#workers.delete(name);
      this.#log.info("notifier removed", { notifier: name, dropped: worker.stats().droppedByReason.removed });
    }
    for (const [name, entry] of compiled) {
      const existing = this.#workers.get(name);
      if (existing) {
        existing.configure(entry.route, entry.compiled);
        continue;
      }
      const worker = new NotifierWorker(
        entry.route,
        entry.compiled,
        { metrics: this.#metrics, ledger: this.#ledger, maxBytes: this.#notifierQueueBytes },
        this.#log,
      );
      this.#workers.set(name, worker);
      worker.start();
      added.push(name);
    }
    if (added.length > 0) this.#log.info("notifiers added", { notifiers: added });
    this.#generation++;
  }

  /**
   * Graceful shutdown: stops accepting events, delivers what is queued for up to `timeoutMs`, then
   * counts whatever is still queued or in flight as dropped (reason "shutdown"). Resolves with the
   * final counters.
   */
  async drain(timeoutMs: number): Promise<RouterStats> {
    this.#accepting = false;
    const workers = [...this.#workers.values()];
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, timeoutMs))));
    await Promise.race([Promise.all(workers.map((worker) => worker.whenIdle())), deadline]);
    clearTimeout(timer);
    for (const worker of workers) worker.stop("shutdown");
    forgetQueueDepths(this.#registry, this);
    const stats = this.stats();
    this.#log.info("router drained", {
      delivered: sum(stats, "delivered"),
      droppedAtShutdown: Object.values(stats.notifiers).reduce((n, s) => n + s.droppedByReason.shutdown, 0),
    });
    return stats;
  }

  get accepting(): boolean {
    return this.#accepting;
  }

  stats(): RouterStats {
    const notifiers: Record<string, NotifierStats> = {};
    for (const [name, worker] of this.#workers) notifiers[name] = worker.stats();
    return {
      received: this.#received,
      duplicates: this.#duplicates,
      unrouted: this.#unrouted,
      rejected: this.#rejected,
      notifiers,
    };
  }

  /** Bytes of events held now (queued or in flight, each event once) and the budget for them. */
  memoryUse(): MemoryUse {
    return { bytes: this.#ledger.bytes, budgetBytes: this.#ledger.budgetBytes };
  }

  *queuedBytes(): Iterable<[string, number]> {
    for (const [name, worker] of this.#workers) yield [name, worker.queuedBytes];
  }

  *queueDepths(): Iterable<[string, number]> {
    for (const [name, worker] of this.#workers) yield [name, worker.queueDepth];
  }

  *deliveriesInFlight(): Iterable<[string, number]> {
    for (const [name, worker] of this.#workers) yield [name, worker.inFlight];
  }

  #sourceState(name: string): SourceState {
    let state = this.#sources.get(name);
    if (state !== undefined && state.generation === this.#generation) return state;
    if (state === undefined) {
      if (this.#sources.size >= MAX_CACHED_SOURCES) this.#sources.clear();
      state = {
        generation: -1,
        targets: [],
        received: this.#metrics.received.labels(name),
        duplicates: this.#metrics.duplicates.labels(name),
      };
      this.#sources.set(name, state);
    }
    const labels = this.#labels.get(name) ?? NO_LABELS;
    const targets: Target[] = [];
    for (const worker of this.#workers.values()) {
      if (worker.matchesSource(name, labels)) {
        targets.push({ worker, routed: this.#metrics.routed.labels(name, worker.name) });
      }
    }
    state.targets = targets;
    state.generation = this.#generation;
    return state;
  }
}

function positive(value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!(value > 0)) throw new RouterConfigError(`a byte limit must be a positive number, not ${value}`);
  return value;
}

function sum(stats: RouterStats, key: "delivered" | "failed" | "dropped"): number {
  return Object.values(stats.notifiers).reduce((n, s) => n + s[key], 0);
}
