/** From Alertmanager alerts to Patchbay events: filters, severity mapping and stable ids. */
import { createHash } from "node:crypto";
import type { Severity, SourceEvent } from "@patchbay/sdk";
import type { Alert, AlertStatus, WebhookPayload } from "./payload.ts";

export interface LabelMatcher {
  label: string;
  /** As in Alertmanager: equal, not equal, regex match, regex non-match (regexes are anchored). */
  op: "=" | "!=" | "=~" | "!~";
  value: string;
}

export interface PrometheusConfig {
  states: AlertStatus[];
  matchers: LabelMatcher[];
  severityLabel: string;
  severities: Record<string, Severity>;
  defaultSeverity: Severity;
  resolvedSeverity: Severity;
}

const SEVERITY_NAMES = ["debug", "info", "warning", "error", "critical"];

export const configSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    states: {
      type: "array",
      items: { enum: ["firing", "resolved"] },
      uniqueItems: true,
      default: ["firing", "resolved"],
      description: "Which alert states become events.",
    },
    matchers: {
      type: "array",
      default: [],
      description: "Label matchers an alert must satisfy, all of them (Alertmanager semantics).",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["label", "op", "value"],
        properties: {
          label: { type: "string", minLength: 1 },
          op: { enum: ["=", "!=", "=~", "!~"] },
          value: { type: "string" },
        },
        if: { properties: { op: { enum: ["=~", "!~"] } } },
        then: { properties: { value: { format: "regex" } } },
      },
    },
    severityLabel: {
      type: "string",
      minLength: 1,
      default: "severity",
      description: "The alert label that carries its severity.",
    },
    severities: {
      type: "object",
      additionalProperties: { enum: SEVERITY_NAMES },
      default: {
        debug: "debug",
        info: "info",
        none: "info",
        warning: "warning",
        error: "error",
        critical: "critical",
        page: "critical",
      },
      description: "Severity label value (lower-cased) → Patchbay severity.",
    },
    defaultSeverity: {
      enum: SEVERITY_NAMES,
      default: "warning",
      description: "Severity of a firing alert whose severity label is missing or unmapped.",
    },
    resolvedSeverity: {
      enum: SEVERITY_NAMES,
      default: "info",
      description: "Severity of a resolved alert (its original severity stays in the event data).",
    },
  },
} as const;

export function selectAlerts(alerts: Alert[], config: PrometheusConfig): Alert[] {
  const matchers = config.matchers.map(compileMatcher);
  return alerts.filter(
    (alert) => config.states.includes(alert.status) && matchers.every((matches) => matches(alert.labels)),
  );
}

function compileMatcher({ label, op, value }: LabelMatcher): (labels: Record<string, string>) => boolean {
  // A missing label matches as the empty string, as in Alertmanager.
  if (op === "=") return (labels) => (labels[label] ?? "") === value;
  if (op === "!=") return (labels) => (labels[label] ?? "") !== value;
  const pattern = new RegExp(`^(?:${value})$`);
  if (op === "=~") return (labels) => pattern.test(labels[label] ?? "");
  return (labels) => !pattern.test(labels[label] ?? "");
}

export function alertEvent(alert: Alert, payload: WebhookPayload, config: PrometheusConfig): SourceEvent {
  const fingerprint = alert.fingerprint || fingerprintOf(alert.labels);
  const labelSeverity = severityOf(alert, config);
  const resolved = alert.status === "resolved";
  const alertname = alert.labels.alertname ?? "";
  return {
    // Alertmanager re-sends the same alert on every group_interval; this id makes those dedup.
    id: `${fingerprint}-${alert.status}-${alert.startsAt}`,
    type: `dev.patchbay.prometheus.alert.${alert.status}`,
    time: new Date(resolved && isTimestamp(alert.endsAt) ? alert.endsAt : alert.startsAt),
    subject: alertname,
    severity: resolved ? config.resolvedSeverity : labelSeverity,
    data: {
      status: alert.status,
      alertname,
      severity: labelSeverity,
      summary: alert.annotations.summary ?? alert.annotations.description ?? "",
      labels: alert.labels,
      annotations: alert.annotations,
      startsAt: alert.startsAt,
      endsAt: alert.endsAt,
      generatorURL: alert.generatorURL,
      fingerprint,
      receiver: payload.receiver,
      groupKey: payload.groupKey,
      externalURL: payload.externalURL,
    },
  };
}

function severityOf(alert: Alert, config: PrometheusConfig): Severity {
  const value = alert.labels[config.severityLabel]?.toLowerCase();
  return (value !== undefined && config.severities[value]) || config.defaultSeverity;
}

/** Alertmanager's fingerprint is a hash of the label set; old versions omit it, so derive one. */
function fingerprintOf(labels: Record<string, string>): string {
  const canonical = Object.keys(labels)
    .sort()
    .map((name) => `${name}=${labels[name]}`)
    .join("\u0000");
  return createHash("sha256").update(canonical).digest("hex").slice(0, 16);
}

function isTimestamp(value: string): boolean {
  // Alertmanager sends endsAt "0001-01-01T00:00:00Z" for alerts that have not ended.
  return value !== "" && !value.startsWith("0001-") && !Number.isNaN(Date.parse(value));
}
