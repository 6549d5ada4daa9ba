/** Turns what a plugin author yields into protocol events: ids, times and JSON data filled in. */
import { randomUUID } from "node:crypto";
import { Severity as ProtoSeverity, type Event } from "./protocol/index.ts";

/** How serious an event is; the host maps it onto the CloudEvent's `severity` extension. */
export type Severity = "debug" | "info" | "warning" | "error" | "critical";

/** An event as a plugin author writes it. Only `type` is required. */
export interface SourceEvent {
  /** Unique and stable within the source (re-sends must reuse it). Default: a random UUID. */
  id?: string;
  type: string;
  /** Default: now. */
  time?: Date;
  subject?: string;
  severity?: Severity;
  /** Any JSON value; a Buffer is sent as-is with dataContentType. */
  data?: unknown;
  dataContentType?: string;
  extensions?: Record<string, string>;
}

const severityToProto: Record<Severity, ProtoSeverity> = {
  debug: ProtoSeverity.SEVERITY_DEBUG,
  info: ProtoSeverity.SEVERITY_INFO,
  warning: ProtoSeverity.SEVERITY_WARNING,
  error: ProtoSeverity.SEVERITY_ERROR,
  critical: ProtoSeverity.SEVERITY_CRITICAL,
};

export function toProtoEvent(event: SourceEvent): Event {
  if (typeof event.type !== "string" || event.type === "") {
    throw new TypeError("a source event needs a non-empty `type`");
  }
  const binary = Buffer.isBuffer(event.data);
  return {
    id: event.id ?? randomUUID(),
    type: event.type,
    time: event.time ?? new Date(),
    subject: event.subject ?? "",
    severity: event.severity ? severityToProto[event.severity] : ProtoSeverity.SEVERITY_UNSPECIFIED,
    data: binary
      ? (event.data as Buffer)
      : event.data === undefined
        ? Buffer.alloc(0)
        : Buffer.from(JSON.stringify(event.data)),
    dataContentType: event.dataContentType ?? (binary ? "application/octet-stream" : ""),
    extensions: event.extensions ?? {},
  };
}
