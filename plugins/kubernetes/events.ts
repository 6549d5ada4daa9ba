/** Kubernetes Events and object changes as Patchbay events, with ids that stay the same on re-send. */
import type { CoreV1Event, KubernetesObject } from "@kubernetes/client-node";
import type { SourceEvent } from "patchbay/sdk";
import type { Change } from "./informers.ts";

const MAX_CHANGES = 20;
const MAX_VALUE_CHARS = 200;

export interface FieldChange {
  path: string;
  from?: unknown;
  to?: unknown;
}

/** A Kubernetes Event; its id changes only when the event recurs (count/series grows). */
export function kubernetesEvent(event: CoreV1Event): SourceEvent {
  const involved = event.involvedObject ?? {};
  const warning = event.type === "Warning";
  const occurrence = event.series?.count ?? event.count ?? 1;
  const time =
    event.series?.lastObservedTime ?? event.lastTimestamp ?? event.eventTime ?? event.firstTimestamp;
  return {
    id: `${event.metadata?.uid ?? `${event.metadata?.namespace}/${event.metadata?.name}`}-${occurrence}`,
    type: `dev.patchbay.kubernetes.event.${warning ? "warning" : "normal"}`,
    time: time ? new Date(time) : undefined,
    subject: subjectOf(involved.kind, involved.namespace, involved.name),
    severity: warning ? "warning" : "info",
    data: {
      type: event.type,
      reason: event.reason,
      message: event.message,
      count: occurrence,
      involvedObject: {
        kind: involved.kind,
        apiVersion: involved.apiVersion,
        namespace: involved.namespace,
        name: involved.name,
        uid: involved.uid,
      },
      reportingController: event.reportingComponent || event.source?.component,
      firstTimestamp: event.firstTimestamp,
      lastTimestamp: event.lastTimestamp,
    },
  };
}

/** A create/update/delete of a watched object. */
export function changeEvent(change: Change, changes: FieldChange[] | undefined): SourceEvent {
  const { object } = change;
  const metadata = object.metadata ?? {};
  return {
    // resourceVersion identifies one state of one object; a deletion happens once per uid.
    id:
      change.action === "deleted" ? `${metadata.uid}-deleted` : `${metadata.uid}-${metadata.resourceVersion}`,
    type: `dev.patchbay.kubernetes.resource.${change.action}`,
    time: new Date(
      change.action === "created" && metadata.creationTimestamp
        ? metadata.creationTimestamp
        : change.action === "deleted" && metadata.deletionTimestamp
          ? metadata.deletionTimestamp
          : Date.now(),
    ),
    subject: subjectOf(object.kind, metadata.namespace, metadata.name),
    severity: change.action === "deleted" ? "warning" : "info",
    data: {
      action: change.action,
      kind: object.kind,
      apiVersion: object.apiVersion,
      namespace: metadata.namespace,
      name: metadata.name,
      uid: metadata.uid,
      resourceVersion: metadata.resourceVersion,
      labels: metadata.labels ?? {},
      ...(changes ? { changes } : {}),
    },
  };
}

function subjectOf(
  kind: string | undefined,
  namespace: string | undefined,
  name: string | undefined,
): string {
  return [namespace, kind, name].filter(Boolean).join("/");
}

/**
 * The leaves that differ under spec, metadata.labels, metadata.annotations and status, as
 * {path, from, to}; at most MAX_CHANGES, long values shortened. Bookkeeping fields are ignored.
 */
export function diffObjects(previous: KubernetesObject, current: KubernetesObject): FieldChange[] {
  const changes: FieldChange[] = [];
  const roots: [string, unknown, unknown][] = [
    ["spec", field(previous, "spec"), field(current, "spec")],
    ["metadata.labels", previous.metadata?.labels, current.metadata?.labels],
    [
      "metadata.annotations",
      withoutBookkeeping(previous.metadata?.annotations),
      withoutBookkeeping(current.metadata?.annotations),
    ],
    ["status", field(previous, "status"), field(current, "status")],
  ];
  for (const [path, before, after] of roots) collect(path, before, after, changes);
  return changes;
}

function collect(path: string, before: unknown, after: unknown, into: FieldChange[]): void {
  if (into.length >= MAX_CHANGES || deepEqual(before, after)) return;
  if (isPlainObject(before) && isPlainObject(after)) {
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
      collect(`${path}.${key}`, before[key], after[key], into);
    }
    return;
  }
  const change: FieldChange = { path };
  if (before !== undefined) change.from = shorten(before);
  if (after !== undefined) change.to = shorten(after);
  into.push(change);
}

function field(object: KubernetesObject, name: string): unknown {
  return (object as unknown as Record<string, unknown>)[name];
}

// kubectl rewrites this annotation on every apply; it would be in every diff and say nothing.
function withoutBookkeeping(
  annotations: Record<string, string> | undefined,
): Record<string, string> | undefined {
  if (!annotations) return annotations;
  const { "kubectl.kubernetes.io/last-applied-configuration": _ignored, ...rest } = annotations;
  return rest;
}

function shorten(value: unknown): unknown {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  if (text.length <= MAX_VALUE_CHARS) return value;
  return `${text.slice(0, MAX_VALUE_CHARS)}…`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  return keysA.every((key) =>
    deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]),
  );
}
