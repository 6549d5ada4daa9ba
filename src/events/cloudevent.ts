/**
 * The event as the router sees it: a CloudEvent 1.0 in its JSON shape. A plain object rather than
 * the cloudevents SDK's class, because the router handles tens of thousands a second; the ingress
 * uses the SDK to parse and validate what arrives over HTTP.
 */
export type Severity = "debug" | "info" | "warning" | "error" | "critical";

export const SEVERITIES: readonly Severity[] = ["debug", "info", "warning", "error", "critical"];

export interface CloudEvent {
  specversion: "1.0";
  id: string;
  /** The name of the SourcePlugin that produced the event. */
  source: string;
  type: string;
  time: string;
  subject?: string;
  datacontenttype?: string;
  data?: unknown;
  /** Extension attribute; the plugin protocol carries it natively. */
  severity?: Severity;
  /** Any other extension attributes. */
  [extension: string]: unknown;
}

/**
 * The extension attribute naming the cluster an event was delivered from (PATCHBAY_CLUSTER_NAME,
 * `patchbay local --cluster-name`). Every notifier shows it (the chat platforms as a "Cluster" field,
 * the log in its line) and webhook receivers get it as an attribute. CloudEvents extension names are
 * lower-case letters and digits, at most 20 characters.
 */
export const CLUSTER_EXTENSION = "patchbaycluster";

/** The event naming `cluster` (replacing a name set upstream: this cluster delivers it); unchanged without one. */
export function withCluster(event: CloudEvent, cluster: string | undefined): CloudEvent {
  return cluster ? { ...event, [CLUSTER_EXTENSION]: cluster } : event;
}

/** The cluster the event names, if any. */
export function clusterOf(event: CloudEvent): string | undefined {
  const cluster = event[CLUSTER_EXTENSION];
  return typeof cluster === "string" && cluster !== "" ? cluster : undefined;
}
