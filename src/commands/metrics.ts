/** Command metrics, registered on the registry the caller passes (never prom-client's global one). */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export interface CommandMetrics {
  commands: Counter<"executor" | "result">;
  duration: Histogram<"executor">;
  /** Read at scrape time from every dispatcher's slots on this registry. */
  inFlight: Gauge<"executor">;
  waiting: Gauge<"executor">;
}

/** Something that can say, per executor, how many commands are in flight and how many wait for a slot. */
export interface SlotSource {
  busy(): Iterable<[executor: string, inFlight: number, waiting: number]>;
}

const slotSources = new WeakMap<Registry, Set<SlotSource>>();

/** Reuses metrics already on the registry, so several dispatchers may share one. */
export function commandMetrics(registry: Registry, slots?: SlotSource): CommandMetrics {
  let sources = slotSources.get(registry);
  if (!sources) slotSources.set(registry, (sources = new Set()));
  if (slots) sources.add(slots);
  const registered = sources;
  const busy = () => [...registered].flatMap((source) => [...source.busy()]);
  return {
    commands:
      existing(registry, "patchbay_commands_total") ??
      new Counter({
        name: "patchbay_commands_total",
        help: "Commands dispatched, by executor and result (ok, unknown-command, forbidden, invalid, unavailable, timeout, failed).",
        labelNames: ["executor", "result"] as const,
        registers: [registry],
      }),
    duration:
      existing(registry, "patchbay_command_duration_seconds") ??
      new Histogram({
        name: "patchbay_command_duration_seconds",
        help: "Time from dispatch to the executor's answer, by executor.",
        labelNames: ["executor"] as const,
        buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
        registers: [registry],
      }),
    inFlight: perExecutorGauge(
      registry,
      "patchbay_executor_commands_in_flight",
      "Commands sent to an executor and not yet answered (at most PATCHBAY_EXECUTOR_CONCURRENCY each).",
      () => busy().map(([executor, inFlight]) => [executor, inFlight]),
    ),
    waiting: perExecutorGauge(
      registry,
      "patchbay_executor_commands_waiting",
      "Commands waiting for one of an executor's slots (at most PATCHBAY_EXECUTOR_QUEUE each).",
      () => busy().map(([executor, , waiting]) => [executor, waiting]),
    ),
  };
}

function perExecutorGauge(
  registry: Registry,
  name: string,
  help: string,
  read: () => [executor: string, value: number][],
): Gauge<"executor"> {
  return (
    existing(registry, name) ??
    new Gauge({
      name,
      help,
      labelNames: ["executor"] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [executor, value] of read()) this.inc({ executor }, value);
      },
    })
  );
}

function existing<T>(registry: Registry, name: string): T | undefined {
  return registry.getSingleMetric(name) as T | undefined;
}
