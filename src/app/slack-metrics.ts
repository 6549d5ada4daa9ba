/** Socket Mode seen from /metrics: whether each notifier's connection is up, and the envelopes it handled. */
import { Counter, Gauge, type Registry } from "prom-client";

export interface SlackMetrics {
  envelopes: Counter<"notifier" | "type">;
}

/** `connected()` lists each notifier with Socket Mode and whether its connection has said hello. */
export function slackMetrics(registry: Registry, connected: () => [string, boolean][]): SlackMetrics {
  new Gauge({
    name: "patchbay_slack_socket_mode_connected",
    help: "1 while the notifier's Slack Socket Mode connection is open (it said hello), 0 while it reconnects.",
    labelNames: ["notifier"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [notifier, up] of connected()) this.set({ notifier }, up ? 1 : 0);
    },
  });
  return {
    envelopes: new Counter({
      name: "patchbay_slack_socket_mode_envelopes_total",
      help: "Envelopes received over Slack Socket Mode and handled (each once; re-sent ones are acknowledged, not counted), by notifier and type (interactive, events_api, slash_commands, other).",
      labelNames: ["notifier", "type"] as const,
      registers: [registry],
    }),
  };
}
