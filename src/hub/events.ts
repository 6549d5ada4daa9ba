/** Protocol events become the router's CloudEvents. */
import { Severity as ProtoSeverity, type Event } from "@patchbay/sdk/protocol";
import type { CloudEvent, Severity } from "../events/cloudevent.ts";

const severities: Record<number, Severity | undefined> = {
  [ProtoSeverity.SEVERITY_DEBUG]: "debug",
  [ProtoSeverity.SEVERITY_INFO]: "info",
  [ProtoSeverity.SEVERITY_WARNING]: "warning",
  [ProtoSeverity.SEVERITY_ERROR]: "error",
  [ProtoSeverity.SEVERITY_CRITICAL]: "critical",
};

export function toCloudEvent(source: string, event: Event): CloudEvent {
  const contentType = event.dataContentType || "application/json";
  const cloudEvent: CloudEvent = {
    ...event.extensions,
    specversion: "1.0",
    id: event.id,
    source,
    type: event.type,
    time: (event.time ?? new Date()).toISOString(),
    datacontenttype: contentType,
  };
  if (event.subject) cloudEvent.subject = event.subject;
  const severity = severities[event.severity];
  if (severity) cloudEvent.severity = severity;
  if (event.data.length > 0) setData(cloudEvent, event.data, contentType);
  return cloudEvent;
}

/** JSON and text stay readable; anything else travels as data_base64, per the CloudEvents JSON format. */
function setData(cloudEvent: CloudEvent, data: Uint8Array, contentType: string): void {
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (contentType.includes("json")) {
    try {
      cloudEvent.data = JSON.parse(buffer.toString("utf8"));
      return;
    } catch {
      // A plugin that mislabels its data should not lose the event: keep the text.
      cloudEvent.data = buffer.toString("utf8");
      return;
    }
  }
  if (contentType.startsWith("text/")) cloudEvent.data = buffer.toString("utf8");
  else cloudEvent.data_base64 = buffer.toString("base64");
}
