/**
 * Controller and work-queue metrics under the names controller-runtime and client-go export, so
 * dashboards built for Go operators work unchanged. One set per registry, shared by every queue
 * and controller registered on it (told apart by the `name` / `controller` label).
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** client-go's workqueue buckets: prometheus.ExponentialBuckets(10e-9, 10, 10). */
const QUEUE_BUCKETS = Array.from({ length: 10 }, (_, i) => 1e-8 * 10 ** i);

/** controller-runtime's reconcile_time_seconds buckets. */
const RECONCILE_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25,
  1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];

/** What the unfinished-work gauges read at scrape time from each live queue. */
export interface InFlightWork {
  readonly name: string;
  /** Seconds of work in progress, summed, and the longest single one. */
  inFlightSeconds(): { total: number; longest: number };
}

export interface WorkQueueMetrics {
  depth: Gauge<"name">;
  adds: Counter<"name">;
  queueDuration: Histogram<"name">;
  workDuration: Histogram<"name">;
  retries: Counter<"name">;
  liveQueues: Set<InFlightWork>;
}

export interface ReconcileMetrics {
  total: Counter<"controller" | "result">;
  errors: Counter<"controller">;
  time: Histogram<"controller">;
  maxConcurrent: Gauge<"controller">;
  activeWorkers: Gauge<"controller">;
}

export interface LeaderElectionMetrics {
  masterStatus: Gauge<"name">;
}

interface RegistryMetrics {
  queue?: WorkQueueMetrics;
  reconcile?: ReconcileMetrics;
  leader?: LeaderElectionMetrics;
}

const perRegistry = new WeakMap<Registry, RegistryMetrics>();

function metricsOf(registry: Registry): RegistryMetrics {
  let metrics = perRegistry.get(registry);
  if (!metrics) {
    metrics = {};
    perRegistry.set(registry, metrics);
  }
  return metrics;
}

export function workQueueMetrics(registry: Registry = new Registry()): WorkQueueMetrics {
  const metrics = metricsOf(registry);
  if (metrics.queue) return metrics.queue;
  const registers = [registry];
  const liveQueues = new Set<InFlightWork>();
  const unfinished = new Gauge({
    name: "workqueue_unfinished_work_seconds",
    help: "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. Large values indicate stuck threads.",
    labelNames: ["name"],
    registers,
    collect() {
      for (const queue of liveQueues) this.set({ name: queue.name }, queue.inFlightSeconds().total);
    },
  });
  const longest = new Gauge({
    name: "workqueue_longest_running_processor_seconds",
    help: "How many seconds has the longest running processor for workqueue been running.",
    labelNames: ["name"],
    registers,
    collect() {
      for (const queue of liveQueues) this.set({ name: queue.name }, queue.inFlightSeconds().longest);
    },
  });
  void unfinished;
  void longest;
  metrics.queue = {
    depth: new Gauge({
      name: "workqueue_depth",
      help: "Current depth of workqueue",
      labelNames: ["name"],
      registers,
    }),
    adds: new Counter({
      name: "workqueue_adds_total",
      help: "Total number of adds handled by workqueue",
      labelNames: ["name"],
      registers,
    }),
    queueDuration: new Histogram({
      name: "workqueue_queue_duration_seconds",
      help: "How long in seconds an item stays in workqueue before being requested",
      labelNames: ["name"],
      buckets: QUEUE_BUCKETS,
      registers,
    }),
    workDuration: new Histogram({
      name: "workqueue_work_duration_seconds",
      help: "How long in seconds processing an item from workqueue takes.",
      labelNames: ["name"],
      buckets: QUEUE_BUCKETS,
      registers,
    }),
    retries: new Counter({
      name: "workqueue_retries_total",
      help: "Total number of retries handled by workqueue",
      labelNames: ["name"],
      registers,
    }),
    liveQueues,
  };
  return metrics.queue;
}

export function reconcileMetrics(registry: Registry = new Registry()): ReconcileMetrics {
  const metrics = metricsOf(registry);
  if (metrics.reconcile) return metrics.reconcile;
  const registers = [registry];
  metrics.reconcile = {
    total: new Counter({
      name: "controller_runtime_reconcile_total",
      help: "Total number of reconciliations per controller",
      labelNames: ["controller", "result"],
      registers,
    }),
    errors: new Counter({
      name: "controller_runtime_reconcile_errors_total",
      help: "Total number of reconciliation errors per controller",
      labelNames: ["controller"],
      registers,
    }),
    time: new Histogram({
      name: "controller_runtime_reconcile_time_seconds",
      help: "Length of time per reconciliation per controller",
      labelNames: ["controller"],
      buckets: RECONCILE_BUCKETS,
      registers,
    }),
    maxConcurrent: new Gauge({
      name: "controller_runtime_max_concurrent_reconciles",
      help: "Maximum number of concurrent reconciles per controller",
      labelNames: ["controller"],
      registers,
    }),
    activeWorkers: new Gauge({
      name: "controller_runtime_active_workers",
      help: "Number of currently used workers per controller",
      labelNames: ["controller"],
      registers,
    }),
  };
  return metrics.reconcile;
}

export function leaderElectionMetrics(registry: Registry = new Registry()): LeaderElectionMetrics {
  const metrics = metricsOf(registry);
  metrics.leader ??= {
    masterStatus: new Gauge({
      name: "leader_election_master_status",
      help: "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease. Please make sure to group by name.",
      labelNames: ["name"],
      registers: [registry],
    }),
  };
  return metrics.leader;
}
