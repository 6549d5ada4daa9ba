/**
 * The cluster's name on every delivery: the event is handed to the notifier with the patchbaycluster
 * extension set, and every platform shows it from there (render.ts for chat, the log line, the webhook's
 * attributes), so no platform keeps a copy of the setting.
 */
import { withCluster, type CloudEvent } from "../events/cloudevent.ts";
import type { DeliveryOutcome, NotifierSink } from "./sink.ts";

/** `sink` delivering every event as coming from `cluster`; `sink` itself when no cluster is named. */
export function namingCluster(sink: NotifierSink, cluster: string | undefined): NotifierSink {
  if (!cluster) return sink;
  return {
    type: sink.type,
    deliver: (event: CloudEvent, signal: AbortSignal): Promise<DeliveryOutcome> =>
      sink.deliver(withCluster(event, cluster), signal),
  };
}
