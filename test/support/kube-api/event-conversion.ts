/**
 * core/v1 Event <-> events.k8s.io/v1 Event. The real server keeps one storage for both; so does
 * the double (in core/v1 shape), converting field names for the events.k8s.io view.
 */

import type { KubeObject } from "./objects.ts";

/** [core/v1 field, events.k8s.io/v1 field] */
const renamed: [string, string][] = [
  ["involvedObject", "regarding"],
  ["message", "note"],
  ["reportingComponent", "reportingController"],
  ["source", "deprecatedSource"],
  ["firstTimestamp", "deprecatedFirstTimestamp"],
  ["lastTimestamp", "deprecatedLastTimestamp"],
  ["count", "deprecatedCount"],
];

function rename(obj: KubeObject, pairs: [string, string][], apiVersion: string): KubeObject {
  const out: KubeObject = { ...obj, apiVersion, kind: "Event" };
  for (const [from, to] of pairs) {
    delete out[from];
    if (obj[from] !== undefined) out[to] = obj[from];
  }
  return out;
}

export function coreEventToEventsV1(obj: KubeObject): KubeObject {
  return rename(obj, renamed, "events.k8s.io/v1");
}

export function eventsV1ToCoreEvent(obj: KubeObject): KubeObject {
  return rename(
    obj,
    renamed.map(([core, events]) => [events, core]),
    "v1",
  );
}
