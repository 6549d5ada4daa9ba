/**
 * Event bus metrics, registered on the registry the caller passes (never prom-client's global one). The
 * publish latency is observed as it happens; the rest is read from the buses at scrape time, once per
 * scrape however many gauges ask, so that routed = delivered + failed + dead-lettered + pending + in
 * flight can be checked from a dashboard.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { BusStats, PublishOutcome } from "./event-bus.ts";

export type PublishResultLabel = PublishOutcome | "unavailable";

export interface BusStatsSource {
  readonly kind: string;
  stats(): Promise<BusStats>;
}

export interface BusMetrics {
  publishDuration: Histogram<"bus" | "result">;
}

/** A scrape that waits longer than this for the bus reports no bus figures rather than none at all. */
const STATS_TIMEOUT_MS = 2_000;

const sourcesByRegistry = new WeakMap<Registry, Set<BusStatsSource>>();

/** Reuses metrics already on the registry, so several buses (or a reopened one) may share it. */
export function busMetrics(registry: Registry, source: BusStatsSource): BusMetrics {
  let sources = sourcesByRegistry.get(registry);
  if (!sources) {
    sourcesByRegistry.set(registry, (sources = new Set()));
    registerScrapedMetrics(registry, sources);
  }
  sources.add(source);
  return {
    publishDuration:
      (registry.getSingleMetric("patchbay_bus_publish_duration_seconds") as
        Histogram<"bus" | "result"> | undefined) ??
      new Histogram({
        name: "patchbay_bus_publish_duration_seconds",
        help: "Time from publishing an event to the bus's answer, by bus and result (stored, duplicate, unavailable).",
        labelNames: ["bus", "result"] as const,
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
        registers: [registry],
      }),
  };
}

/** Stops reporting a bus (after it is closed). */
export function forgetBus(registry: Registry, source: BusStatsSource): void {
  sourcesByRegistry.get(registry)?.delete(source);
}

function registerScrapedMetrics(registry: Registry, sources: Set<BusStatsSource>): void {
  // One read of every bus per scrape: each collect() below awaits the same promise.
  let current: { at: number; read: Promise<[BusStatsSource, BusStats][]> } | undefined;
  const read = (): Promise<[BusStatsSource, BusStats][]> => {
    const now = Date.now();
    if (current && now - current.at < 1_000) return current.read;
    const reading = Promise.all(
      [...sources].map(async (source) => {
        const stats = await withTimeout(source.stats(), STATS_TIMEOUT_MS);
        return stats ? ([[source, stats]] as [BusStatsSource, BusStats][]) : [];
      }),
    ).then((lists) => lists.flat());
    current = { at: now, read: reading };
    return reading;
  };

  new Gauge({
    name: "patchbay_bus_stored_messages",
    help: "Events the bus holds: the JetStream stream's messages, or the in-memory bus's queued copies.",
    labelNames: ["bus"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const [source, stats] of await read()) this.set({ bus: source.kind }, stats.storedMessages);
    },
  });
  new Gauge({
    name: "patchbay_bus_stored_bytes",
    help: "Bytes the JetStream stream holds (the in-memory bus does not measure them).",
    labelNames: ["bus"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const [source, stats] of await read()) {
        if (stats.storedBytes !== undefined) this.set({ bus: source.kind }, stats.storedBytes);
      }
    },
  });
  const perNotifier = (
    name: string,
    help: string,
    value: (stats: BusStats["subscriptions"][string]) => number,
    kind: "gauge" | "counter",
  ) => {
    const options = {
      name,
      help,
      labelNames: ["notifier"] as const,
      registers: [registry],
    };
    const fill = async (metric: Gauge<"notifier"> | Counter<"notifier">) => {
      metric.reset();
      for (const [, stats] of await read()) {
        for (const [notifier, subscription] of Object.entries(stats.subscriptions)) {
          const amount = value(subscription);
          if (metric instanceof Gauge) metric.inc({ notifier }, amount);
          else if (amount > 0) metric.inc({ notifier }, amount);
        }
      }
    };
    if (kind === "gauge")
      new Gauge({
        ...options,
        async collect() {
          await fill(this);
        },
      });
    else
      new Counter({
        ...options,
        async collect() {
          await fill(this);
        },
      });
  };
  perNotifier(
    "patchbay_bus_pending",
    "Events stored for a notifier and not yet handed out (JetStream: its consumer's pending, over every replica).",
    (s) => s.pending,
    "gauge",
  );
  perNotifier(
    "patchbay_bus_ack_pending",
    "Events handed out to a notifier and not yet settled, retries waiting for their delay included.",
    (s) => s.ackPending,
    "gauge",
  );
  perNotifier(
    "patchbay_bus_dead_lettered_total",
    "Events this process moved to the dead letters: a permanent failure, or the last retry failed.",
    (s) => s.deadLettered,
    "counter",
  );
  perNotifier(
    "patchbay_bus_acked_total",
    "Deliveries this process settled as done: the platform accepted the event (skipped ones not counted).",
    (s) => s.acked,
    "counter",
  );
  perNotifier(
    "patchbay_bus_skipped_total",
    "Events this process acked unseen because the notifier's sources or filter do not select them.",
    (s) => s.skipped,
    "counter",
  );
  perNotifier(
    "patchbay_bus_already_settled_total",
    "Repeats of an event this process had already delivered or dead-lettered, acked again and not delivered.",
    (s) => s.alreadySettled,
    "counter",
  );
  perNotifier(
    "patchbay_bus_redeliveries_total",
    "Deliveries this process handed back to the bus for a retry.",
    (s) => s.retried,
    "counter",
  );
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms))),
    ]);
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
