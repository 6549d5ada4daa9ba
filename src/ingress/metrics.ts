/** Ingress metrics, registered on the registry the caller passes (never prom-client's global one). */
import { Counter, type Registry } from "prom-client";

export interface IngressMetrics {
  /** route is a fixed set ("events", "sources", "commands", "chat-slack", "chat-slack-events", "chat-slack-interactivity", "chat-mattermost", "other"). */
  requests: Counter<"route" | "code">;
  /** Only known source names become label values, so a caller cannot inflate the label set. */
  events: Counter<"source" | "mode">;
  chatReplies: Counter<"platform" | "outcome">;
}

export function ingressMetrics(registry: Registry): IngressMetrics {
  return {
    requests: counter(registry, {
      name: "patchbay_ingress_requests_total",
      help: "HTTP requests answered by the ingress, by route and status code.",
      labelNames: ["route", "code"] as const,
    }),
    events: counter(registry, {
      name: "patchbay_ingress_events_accepted_total",
      help: "CloudEvents accepted by POST /events or returned by a source's external request, by source and content mode (structured, binary, batch, external).",
      labelNames: ["source", "mode"] as const,
    }),
    chatReplies: counter(registry, {
      name: "patchbay_chat_replies_total",
      help: "Command answers posted back to a chat platform's response_url, by platform and outcome (delivered, failed; refused: the response_url was not allowed and the answer went back in the response).",
      labelNames: ["platform", "outcome"] as const,
    }),
  };
}

function counter<L extends string>(
  registry: Registry,
  config: { name: string; help: string; labelNames: readonly L[] },
): Counter<L> {
  return (
    (registry.getSingleMetric(config.name) as Counter<L> | undefined) ??
    new Counter({ ...config, registers: [registry] })
  );
}
