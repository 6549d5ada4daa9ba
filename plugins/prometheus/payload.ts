/**
 * The Alertmanager webhook payload (version "4"), checked field by field so that a bad request is
 * answered with the exact path that is wrong rather than a vague "invalid payload".
 */

export type AlertStatus = "firing" | "resolved";

export interface Alert {
  status: AlertStatus;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

export interface WebhookPayload {
  version: "4";
  groupKey: string;
  truncatedAlerts: number;
  status: AlertStatus;
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: Alert[];
}

export class PayloadError extends Error {
  override name = "PayloadError";
}

/** Parses and checks a webhook body; throws PayloadError naming the first problem found. */
export function parseWebhookPayload(body: Buffer): WebhookPayload {
  let value: unknown;
  try {
    value = JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw new PayloadError(`body is not valid JSON: ${(err as Error).message}`);
  }
  const payload = object(value, "body");
  if (payload.version !== "4") {
    throw new PayloadError(
      `version must be "4" (the Alertmanager webhook format this source understands), got ${JSON.stringify(payload.version)}`,
    );
  }
  if (!Array.isArray(payload.alerts)) throw new PayloadError("alerts must be an array");
  return {
    version: "4",
    groupKey: optionalString(payload.groupKey, "groupKey"),
    truncatedAlerts: optionalCount(payload.truncatedAlerts, "truncatedAlerts"),
    status: status(payload.status, "status"),
    receiver: optionalString(payload.receiver, "receiver"),
    groupLabels: stringMap(payload.groupLabels, "groupLabels"),
    commonLabels: stringMap(payload.commonLabels, "commonLabels"),
    commonAnnotations: stringMap(payload.commonAnnotations, "commonAnnotations"),
    externalURL: optionalString(payload.externalURL, "externalURL"),
    alerts: payload.alerts.map((alert, i) => parseAlert(alert, `alerts[${i}]`)),
  };
}

function parseAlert(value: unknown, where: string): Alert {
  const alert = object(value, where);
  return {
    status: status(alert.status, `${where}.status`),
    labels: stringMap(alert.labels, `${where}.labels`),
    annotations: stringMap(alert.annotations, `${where}.annotations`),
    startsAt: timestamp(alert.startsAt, `${where}.startsAt`),
    endsAt: optionalString(alert.endsAt, `${where}.endsAt`),
    generatorURL: optionalString(alert.generatorURL, `${where}.generatorURL`),
    fingerprint: optionalString(alert.fingerprint, `${where}.fingerprint`),
  };
}

function object(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new PayloadError(`${where} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

function status(value: unknown, where: string): AlertStatus {
  if (value !== "firing" && value !== "resolved") {
    throw new PayloadError(`${where} must be "firing" or "resolved", got ${JSON.stringify(value)}`);
  }
  return value;
}

function stringMap(value: unknown, where: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  const map = object(value, where);
  for (const [key, item] of Object.entries(map)) {
    if (typeof item !== "string") throw new PayloadError(`${where}.${key} must be a string`);
  }
  return map as Record<string, string>;
}

function optionalString(value: unknown, where: string): string {
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") throw new PayloadError(`${where} must be a string`);
  return value;
}

function optionalCount(value: unknown, where: string): number {
  if (value === undefined || value === null) return 0;
  if (!Number.isInteger(value) || (value as number) < 0) {
    throw new PayloadError(`${where} must be a non-negative integer`);
  }
  return value as number;
}

function timestamp(value: unknown, where: string): string {
  if (typeof value !== "string" || Number.isNaN(Date.parse(value))) {
    throw new PayloadError(`${where} must be an RFC 3339 timestamp, got ${JSON.stringify(value)}`);
  }
  return value;
}
