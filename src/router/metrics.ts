/** Router and delivery metrics, registered on the registry the caller passes (never prom-client's global one). */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export type DropReason = "overflow" | "overflow-bytes" | "removed" | "shutdown";

export const DROP_REASONS: readonly DropReason[] = ["overflow", "overflow-bytes", "removed", "shutdown"];

export interface RouterMetrics {
  received: ScrapedCounter;
  duplicates: ScrapedCounter;
  routed: ScrapedCounter;
  delivered: ScrapedCounter;
  failed: ScrapedCounter;
  dropped: ScrapedCounter;
  retries: ScrapedCounter;
  duration: Histogram<"notifier">;
  /** Read at scrape time from every router registered on this registry. */
  queueDepth: Gauge<"notifier">;
  /** Likewise: 1 while a notifier has an event out for delivery, so the identity can be read off /metrics. */
  inFlight: Gauge<"notifier">;
  /** Likewise: the estimated bytes in each notifier's queue. */
  queueBytes: Gauge<"notifier">;
  /** Likewise: bytes of events held across all queues (each event once), and the budget for them. */
  memoryBytes: Gauge;
  memoryBudgetBytes: Gauge;
}

/** Something that can say how deep each notifier's queue is right now, and what it has in flight. */
export interface QueueDepthSource {
  queueDepths(): Iterable<[notifier: string, depth: number]>;
  deliveriesInFlight(): Iterable<[notifier: string, inFlight: number]>;
  queuedBytes(): Iterable<[notifier: string, bytes: number]>;
  memoryUse(): { bytes: number; budgetBytes: number };
}

const depthSources = new WeakMap<Registry, Set<QueueDepthSource>>();

/** Reuses metrics already on the registry, so several routers (or a restarted one) may share it. */
export function routerMetrics(registry: Registry, source: QueueDepthSource): RouterMetrics {
  let sources = depthSources.get(registry);
  if (!sources) depthSources.set(registry, (sources = new Set()));
  sources.add(source);
  const registered = sources;
  return {
    received: counter(
      registry,
      "patchbay_events_received_total",
      "Events published to the router, by source.",
      ["source"],
    ),
    duplicates: counter(
      registry,
      "patchbay_events_duplicate_total",
      "Events dropped because the same (source, id) was seen within the dedup window, by source.",
      ["source"],
    ),
    routed: counter(
      registry,
      "patchbay_events_routed_total",
      "Events queued for a notifier (selected by its sources and passing its filter), by source and notifier.",
      ["source", "notifier"],
    ),
    delivered: counter(
      registry,
      "patchbay_notifier_delivered_total",
      "Events a notifier's platform accepted.",
      ["notifier"],
    ),
    failed: counter(
      registry,
      "patchbay_notifier_failed_total",
      "Events given up on: a permanent error, or retries exhausted.",
      ["notifier"],
    ),
    dropped: counter(
      registry,
      "patchbay_notifier_dropped_total",
      "Events dropped undelivered, by reason: overflow (queue full, oldest dropped), overflow-bytes (queue bytes full, oldest dropped; or one event larger than the whole bound), removed (notifier deleted), shutdown (drain deadline passed).",
      ["notifier", "reason"],
    ),
    retries: counter(
      registry,
      "patchbay_notifier_retries_total",
      "Delivery attempts repeated after a retryable error.",
      ["notifier"],
    ),
    duration:
      (registry.getSingleMetric("patchbay_notifier_delivery_duration_seconds") as
        Histogram<"notifier"> | undefined) ??
      new Histogram({
        name: "patchbay_notifier_delivery_duration_seconds",
        help: "Duration of one delivery attempt (one request to the platform), by notifier.",
        labelNames: ["notifier"] as const,
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        registers: [registry],
      }),
    queueDepth: perNotifierGauge(
      registry,
      "patchbay_notifier_queue_depth",
      "Events waiting in a notifier's queue (not counting the one in flight).",
      () => [...registered].flatMap((router) => [...router.queueDepths()]),
    ),
    inFlight: perNotifierGauge(
      registry,
      "patchbay_notifier_in_flight",
      "Events out for delivery (sent or waiting to retry), by notifier: routed = delivered + failed + dropped + queue depth + in flight.",
      () => [...registered].flatMap((router) => [...router.deliveriesInFlight()]),
    ),
    queueBytes: perNotifierGauge(
      registry,
      "patchbay_notifier_queue_bytes",
      "Estimated bytes of the events waiting in a notifier's queue (bounded by PATCHBAY_NOTIFIER_QUEUE_BYTES).",
      () => [...registered].flatMap((router) => [...router.queuedBytes()]),
    ),
    memoryBytes: totalGauge(
      registry,
      "patchbay_router_memory_bytes",
      "Estimated bytes of events held by the router (queued or in flight, each event once); the ingress answers 503 when an event would take it past the budget.",
      () => [...registered].reduce((n, router) => n + router.memoryUse().bytes, 0),
    ),
    memoryBudgetBytes: totalGauge(
      registry,
      "patchbay_router_memory_budget_bytes",
      "The router's memory budget (PATCHBAY_MEMORY_BUDGET).",
      () => [...registered].reduce((n, router) => n + router.memoryUse().budgetBytes, 0),
    ),
  };
}

/** A gauge by notifier whose values are read at scrape time; reused when the registry has it. */
function perNotifierGauge(
  registry: Registry,
  name: string,
  help: string,
  read: () => Iterable<[notifier: string, value: number]>,
): Gauge<"notifier"> {
  const existing = registry.getSingleMetric(name) as Gauge<"notifier"> | undefined;
  if (existing) return existing;
  return new Gauge({
    name,
    help,
    labelNames: ["notifier"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [notifier, value] of read()) this.set({ notifier }, value);
    },
  });
}

/** A gauge without labels whose value is read at scrape time; reused when the registry has it. */
function totalGauge(registry: Registry, name: string, help: string, read: () => number): Gauge {
  const existing = registry.getSingleMetric(name) as Gauge | undefined;
  if (existing) return existing;
  return new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/** Stops reporting a router's queues (after it is shut down). */
export function forgetQueueDepths(registry: Registry, source: QueueDepthSource): void {
  depthSources.get(registry)?.delete(source);
}

/** One label set's count: the hot path bumps a number; prom-client reads it at scrape time. */
export interface CounterCell {
  inc(amount?: number): void;
}

/**
 * A counter whose per-label-set counts are plain numbers. prom-client's own label children hash the
 * label set on every inc(), which cost about a tenth of the router's time per event.
 */
export class ScrapedCounter {
  readonly #cells = new Map<
    string,
    { labels: Record<string, string>; value: number; inc(amount?: number): void }
  >();
  readonly #labelNames: readonly string[];

  constructor(registry: Registry, name: string, help: string, labelNames: string[]) {
    this.#labelNames = labelNames;
    const cells = this.#cells;
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const cell of cells.values()) if (cell.value > 0) this.inc(cell.labels, cell.value);
      },
    });
  }

  /** The cell for these label values (in labelNames order); keep it and call inc() on it. */
  labels(...values: string[]): CounterCell {
    const key = values.join("\u0000");
    let cell = this.#cells.get(key);
    if (!cell) {
      const labels = Object.fromEntries(this.#labelNames.map((name, i) => [name, values[i] ?? ""]));
      cell = {
        labels,
        value: 0,
        inc(amount = 1) {
          this.value += amount;
        },
      };
      this.#cells.set(key, cell);
    }
    return cell;
  }
}

const scrapedCounters = new WeakMap<Registry, Map<string, ScrapedCounter>>();

/** Reuses the counter already on the registry, so several routers add to the same cells. */
function counter(registry: Registry, name: string, help: string, labelNames: string[]): ScrapedCounter {
  let counters = scrapedCounters.get(registry);
  if (!counters) scrapedCounters.set(registry, (counters = new Map()));
  let existing = counters.get(name);
  if (!existing) counters.set(name, (existing = new ScrapedCounter(registry, name, help, labelNames)));
  return existing;
}
