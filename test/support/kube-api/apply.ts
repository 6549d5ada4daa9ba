/**
 * Server-side apply, approximated. Field ownership is tracked per Apply manager as a set of leaf
 * paths stored in `metadata.managedFields` (FieldsV1 `f:` keys). Lists are atomic (no
 * `listType: map` merging), non-apply writes do not take ownership, and a conflict is only
 * raised against another Apply manager that owns the same leaf with a different value.
 */

import { failure } from "./errors.ts";
import type { StatusCause } from "./errors.ts";
import { deepEqual, isObject, toJson } from "./objects.ts";
import type { JsonObject, KubeObject, ManagedFieldsEntry } from "./objects.ts";

type Path = string[];

/** metadata fields a manager can own; identity and server-set fields are never tracked. */
const ownedMetadata = new Set(["labels", "annotations", "finalizers", "ownerReferences"]);

function leafPaths(value: unknown, prefix: Path, out: Path[]): Path[] {
  if (!isObject(value) || Object.keys(value).length === 0) {
    out.push(prefix);
    return out;
  }
  for (const [key, child] of Object.entries(value)) leafPaths(child, [...prefix, key], out);
  return out;
}

function appliedPaths(applied: JsonObject, inScope: (path: Path) => boolean): Path[] {
  const paths: Path[] = [];
  for (const [key, value] of Object.entries(applied)) {
    if (key === "apiVersion" || key === "kind") continue;
    if (key === "metadata") {
      if (!isObject(value)) continue;
      for (const [metaKey, metaValue] of Object.entries(value)) {
        if (ownedMetadata.has(metaKey)) leafPaths(metaValue, ["metadata", metaKey], paths);
      }
      continue;
    }
    leafPaths(value, [key], paths);
  }
  return paths.filter(inScope);
}

function toFieldsV1(paths: Path[]): JsonObject {
  const root: JsonObject = {};
  for (const path of paths) {
    let node = root;
    for (const segment of path) {
      const key = `f:${segment}`;
      const next = isObject(node[key]) ? (node[key] as JsonObject) : {};
      node[key] = next;
      node = next;
    }
  }
  return root;
}

function fromFieldsV1(fields: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  const childKeys = isObject(fields) ? Object.keys(fields).filter((k) => k.startsWith("f:")) : [];
  if (childKeys.length === 0) {
    if (prefix.length > 0) out.push(prefix);
    return out;
  }
  for (const key of childKeys) fromFieldsV1((fields as JsonObject)[key], [...prefix, key.slice(2)], out);
  return out;
}

const encode = (path: Path): string => JSON.stringify(path);

function valueAt(obj: unknown, path: Path): unknown {
  let current = obj;
  for (const segment of path) {
    if (!isObject(current)) return undefined;
    current = current[segment];
  }
  return current;
}

function removeAt(obj: JsonObject, path: Path): void {
  const parents: JsonObject[] = [obj];
  let current: unknown = obj;
  for (const segment of path.slice(0, -1)) {
    if (!isObject(current)) return;
    current = current[segment];
    if (!isObject(current)) return;
    parents.push(current);
  }
  delete parents[parents.length - 1]?.[path[path.length - 1] ?? ""];
  // Drop maps the removal emptied, but never the top-level sections themselves.
  for (let depth = parents.length - 1; depth >= 2; depth--) {
    const parent = parents[depth];
    if (parent && Object.keys(parent).length === 0) delete parents[depth - 1]?.[path[depth - 1] ?? ""];
  }
}

/** Applied maps merge recursively into the live object; scalars and (atomic) lists replace. */
function mergeApplied(live: unknown, applied: unknown): unknown {
  if (!isObject(applied) || !isObject(live)) return toJson(applied);
  const result: JsonObject = { ...live };
  for (const [key, value] of Object.entries(applied)) result[key] = mergeApplied(live[key], value);
  return result;
}

export interface ApplyRequest {
  live: KubeObject | undefined;
  applied: JsonObject;
  manager: string;
  force: boolean;
  /** "" for the main resource, "status" for the status subresource. */
  subresource: string;
  /** Whether the type has a status subresource (then status belongs to the subresource only). */
  statusSubresource: boolean;
  apiVersion: string;
  now: string;
}

function inScopeFor(request: ApplyRequest): (path: Path) => boolean {
  if (request.subresource === "status") return (path) => path[0] === "status";
  if (request.statusSubresource) return (path) => path[0] !== "status";
  return () => true;
}

function conflictError(conflicts: { manager: string; path: Path }[]): Error {
  const causes: StatusCause[] = conflicts.map((c) => ({
    reason: "FieldManagerConflict",
    message: `conflict with "${c.manager}"`,
    field: "." + c.path.join("."),
  }));
  const count = conflicts.length === 1 ? "1 conflict" : `${conflicts.length} conflicts`;
  const list = causes.map((c) => `${c.message}: ${c.field}`).join("\n- ");
  return failure(409, "Conflict", `Apply failed with ${count}: ${list}`, { causes });
}

/**
 * Merges an applied configuration into the live object (or builds the object to create) and
 * records ownership; throws a 409 Conflict unless `force`.
 */
export function serverSideApply(request: ApplyRequest): JsonObject {
  const { live, applied, manager, subresource } = request;
  const paths = appliedPaths(applied, inScopeFor(request));
  const entries: ManagedFieldsEntry[] = toJson(live?.metadata.managedFields ?? []);
  const sameScope = (e: ManagedFieldsEntry): boolean => (e.subresource ?? "") === subresource;
  const others = entries.filter((e) => e.operation === "Apply" && e.manager !== manager && sameScope(e));
  const mine = entries.find((e) => e.operation === "Apply" && e.manager === manager && sameScope(e));

  const conflicts: { manager: string; path: Path }[] = [];
  const wanted = new Set(paths.map(encode));
  for (const other of others) {
    const owned = fromFieldsV1(other.fieldsV1);
    const contested = owned.filter(
      (p) => wanted.has(encode(p)) && !deepEqual(valueAt(live, p), valueAt(applied, p)),
    );
    if (contested.length === 0) continue;
    if (!request.force) {
      conflicts.push(...contested.map((path) => ({ manager: other.manager, path })));
      continue;
    }
    const lost = new Set(contested.map(encode));
    other.fieldsV1 = toFieldsV1(owned.filter((p) => !lost.has(encode(p))));
  }
  if (conflicts.length > 0) throw conflictError(conflicts);

  const result = mergeApplied(live ?? {}, applied) as JsonObject;
  const ownedByOthers = new Set(others.flatMap((o) => fromFieldsV1(o.fieldsV1)).map(encode));
  for (const path of mine ? fromFieldsV1(mine.fieldsV1) : []) {
    if (!wanted.has(encode(path)) && !ownedByOthers.has(encode(path))) removeAt(result, path);
  }

  const entry: ManagedFieldsEntry = {
    manager,
    operation: "Apply",
    apiVersion: request.apiVersion,
    time: request.now,
    fieldsType: "FieldsV1",
    fieldsV1: toFieldsV1(paths),
  };
  if (subresource) entry.subresource = subresource;
  const kept = entries.filter((e) => e !== mine && Object.keys(e.fieldsV1).length > 0);
  const metadata = isObject(result.metadata) ? result.metadata : {};
  metadata.managedFields = [...kept, entry];
  result.metadata = metadata;
  return result;
}
