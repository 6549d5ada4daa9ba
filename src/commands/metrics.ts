/** Command metrics, registered on the registry the caller passes (never prom-client's global one). */
import { Counter, Histogram, type Registry } from "prom-client";

export interface CommandMetrics {
  commands: Counter<"executor" | "result">;
  duration: Histogram<"executor">;
}

/** Reuses metrics already on the registry, so several dispatchers may share one. */
export function commandMetrics(registry: Registry): CommandMetrics {
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
  };
}

function existing<T>(registry: Registry, name: string): T | undefined {
  return registry.getSingleMetric(name) as T | undefined;
}
