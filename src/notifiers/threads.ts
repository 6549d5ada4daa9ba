/**
 * Which events belong in one chat thread: those about the same thing. An alert is the same thing while
 * its fingerprint is (Alertmanager's hash of the label set, firing or resolved); a Kubernetes object is
 * the same thing while its uid is (or, without one, its kind/namespace/name in the subject). Everything
 * else stands alone. The key includes the source so two sources never share a thread by accident.
 */
import type { CloudEvent } from "../events/cloudevent.ts";

export interface ThreadKey {
  /** Stable across the events of one thread, e.g. "alertmanager/fingerprint/3f1c…". */
  key: string;
  /** True when this event ends what the thread is about (a resolved alert): the root is updated. */
  resolves: boolean;
}

/**
 * An extension attribute naming the thread outright: an Action's follow-up carries the thread key of the
 * event it answers, so the answer lands under that event. Lower-case letters only, as CloudEvents
 * extension names must be.
 */
export const THREAD_EXTENSION = "patchbaythread";

/** The thread an event belongs to, or undefined when it starts and ends its own. */
export function threadKeyOf(event: CloudEvent): ThreadKey | undefined {
  const named = event[THREAD_EXTENSION];
  if (typeof named === "string" && named !== "") return { key: named, resolves: false };
  const data = isRecord(event.data) ? event.data : undefined;
  const fingerprint = data && typeof data.fingerprint === "string" ? data.fingerprint : "";
  if (fingerprint !== "") {
    return { key: `${event.source}/fingerprint/${fingerprint}`, resolves: data?.status === "resolved" };
  }
  const involved = data && isRecord(data.involvedObject) ? data.involvedObject : undefined;
  const uid =
    (involved && typeof involved.uid === "string" && involved.uid) ||
    (data && typeof data.uid === "string" && data.uid) ||
    "";
  if (uid !== "") return { key: `${event.source}/uid/${uid}`, resolves: false };
  if (typeof event.subject === "string" && event.subject !== "" && involved) {
    return { key: `${event.source}/subject/${event.subject}`, resolves: false };
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
