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
