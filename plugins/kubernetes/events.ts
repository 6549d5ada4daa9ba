/** Kubernetes Events and object changes as Patchbay events, with ids that stay the same on re-send. */
import type { CoreV1Event, KubernetesObject } from "@kubernetes/client-node";
import type { SourceEvent } from "@patchbay/sdk";
import type { Change } from "./informers.ts";

// Shown in one updated event; the rest are counted in `moreChanges`.
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

/** What an update changed: the changes shown (at most MAX_CHANGES) and how many more there were. */
export interface ChangeSummary {
  changes: FieldChange[];
  moreChanges: number;
}

/** A create/update/delete of a watched object. */
export function changeEvent(change: Change, summary: ChangeSummary | undefined): SourceEvent {
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
      ...(summary ?? {}),
    },
  };
}

/**
 * The changes to show for an update: those under the fields the user asked about first, then the
 * rest, at most MAX_CHANGES; the count of the others is `moreChanges`. The cap is for display only:
 * relevance is decided on the full diff before this is called.
 */
export function summarizeChanges(
  changes: FieldChange[],
  relevant: (change: FieldChange) => boolean,
): ChangeSummary {
  const ordered = [...changes.filter(relevant), ...changes.filter((c) => !relevant(c))];
  const shown = ordered.slice(0, MAX_CHANGES);
  return { changes: shown, moreChanges: ordered.length - shown.length };
}

function subjectOf(
  kind: string | undefined,
  namespace: string | undefined,
  name: string | undefined,
): string {
  return [namespace, kind, name].filter(Boolean).join("/");
}

// Top-level fields that name the object rather than describe it (list items even lack them).
const IDENTITY = new Set(["apiVersion", "kind"]);
// metadata the API server rewrites on writes that change nothing a user cares about.
const BOOKKEEPING_METADATA = new Set(["resourceVersion", "managedFields", "generation", "selfLink"]);
// kubectl rewrites this annotation on every apply; it would be in every diff and say nothing
// (and for a Secret it holds the data in clear).
const BOOKKEEPING_ANNOTATIONS = new Set(["kubectl.kubernetes.io/last-applied-configuration"]);
// Secret values are never put in an event: chat channels are no place for them.
const SECRET_FIELDS = new Set(["data", "stringData"]);
const REDACTED = "(redacted)";

/**
 * Every leaf that differs, under every top-level field (spec, data, rules, metadata, status, …) but
 * the bookkeeping ones, as {path, from, to}: no cap (see summarizeChanges), long values shortened,
 * Secret values redacted. Ordered spec, other fields, metadata, status.
 */
export function diffObjects(previous: KubernetesObject, current: KubernetesObject): FieldChange[] {
  const before = previous as unknown as Record<string, unknown>;
  const after = current as unknown as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => !IDENTITY.has(k));
  const rank = (key: string) => (key === "spec" ? 0 : key === "metadata" ? 2 : key === "status" ? 3 : 1);
  keys.sort((a, b) => rank(a) - rank(b));
  const secret = (current.kind ?? previous.kind) === "Secret";
  const changes: FieldChange[] = [];
  for (const key of keys) {
    const from = key === "metadata" ? withoutBookkeeping(before[key]) : before[key];
    const to = key === "metadata" ? withoutBookkeeping(after[key]) : after[key];
    collect(key, from, to, changes, secret && SECRET_FIELDS.has(key));
  }
  return changes;
}

/**
 * Whether `change` is about one of `fields`: its path is a field or below one; or it is above one
 * (a whole map or list changed at once) and the value at that field differs.
 */
export function touches(
  fields: string[],
  previous: KubernetesObject,
  current: KubernetesObject,
): (change: FieldChange) => boolean {
  return (change) =>
    fields.some(
      (field) =>
        change.path === field ||
        change.path.startsWith(`${field}.`) ||
        (field.startsWith(`${change.path}.`) &&
          !deepEqual(valueAt(previous, field), valueAt(current, field))),
    );
}

function collect(path: string, before: unknown, after: unknown, into: FieldChange[], redact: boolean): void {
  if (deepEqual(before, after) || (isEmpty(before) && isEmpty(after))) return;
  if (isPlainObject(before) && isPlainObject(after)) {
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
      collect(`${path}.${key}`, before[key], after[key], into, redact);
    }
    return;
  }
  const change: FieldChange = { path };
  if (before !== undefined) change.from = redact ? REDACTED : shorten(before);
  if (after !== undefined) change.to = redact ? REDACTED : shorten(after);
  into.push(change);
}

function valueAt(object: unknown, path: string): unknown {
  let value = object;
  for (const key of path.split(".")) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function withoutBookkeeping(metadata: unknown): unknown {
  if (!isPlainObject(metadata)) return metadata;
  const rest = Object.fromEntries(Object.entries(metadata).filter(([key]) => !BOOKKEEPING_METADATA.has(key)));
  if (isPlainObject(rest.annotations)) {
    rest.annotations = Object.fromEntries(
      Object.entries(rest.annotations).filter(([key]) => !BOOKKEEPING_ANNOTATIONS.has(key)),
    );
  }
  return rest;
}

function shorten(value: unknown): unknown {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  if (text.length <= MAX_VALUE_CHARS) return value;
  return `${text.slice(0, MAX_VALUE_CHARS)}…`;
}

// An absent map and an empty one say the same.
function isEmpty(value: unknown): boolean {
  return value === undefined || (isPlainObject(value) && Object.keys(value).length === 0);
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
