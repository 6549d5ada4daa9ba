/**
 * The three classic patch formats: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and an
 * approximation of strategic merge patch. All work on copies and throw PatchError on bad input.
 */

import { deepEqual, isObject, toJson } from "./objects.ts";
import type { JsonObject } from "./objects.ts";

/** `invalid` patches are well-formed but cannot apply (422); the rest are malformed (400). */
export class PatchError extends Error {
  readonly invalid: boolean;

  constructor(message: string, invalid: boolean) {
    super(message);
    this.name = "PatchError";
    this.invalid = invalid;
  }
}

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return toJson(patch);
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, "/").replace(/~0/g, "~");
}

function parsePointer(pointer: unknown): string[] {
  if (typeof pointer !== "string") throw new PatchError("JSON patch path must be a string", false);
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw new PatchError(`invalid JSON pointer: "${pointer}"`, true);
  return pointer.slice(1).split("/").map(unescapePointer);
}

type Container = JsonObject | unknown[];

/** Resolves the parent of the pointer's last segment; throws when an intermediate is missing. */
function parentOf(doc: unknown, segments: string[], path: string): { parent: Container; key: string } {
  let current: unknown = doc;
  for (const segment of segments.slice(0, -1)) {
    if (Array.isArray(current)) current = current[Number(segment)];
    else if (isObject(current)) current = current[segment];
    else current = undefined;
    if (current === undefined) throw new PatchError(`doc is missing path: "${path}": missing value`, true);
  }
  if (!Array.isArray(current) && !isObject(current)) {
    throw new PatchError(`doc is missing path: "${path}": missing value`, true);
  }
  return { parent: current, key: segments[segments.length - 1] ?? "" };
}

function arrayIndex(list: unknown[], key: string, path: string, forInsert: boolean): number {
  if (forInsert && key === "-") return list.length;
  const index = Number(key);
  const max = forInsert ? list.length : list.length - 1;
  if (!/^\d+$/.test(key) || index > max) {
    throw new PatchError(`unable to access invalid index: ${key} in path "${path}"`, true);
  }
  return index;
}

function readAt(doc: unknown, path: string): unknown {
  const segments = parsePointer(path);
  if (segments.length === 0) return doc;
  const { parent, key } = parentOf(doc, segments, path);
  const value = Array.isArray(parent) ? parent[arrayIndex(parent, key, path, false)] : parent[key];
  if (value === undefined) throw new PatchError(`doc is missing key: ${path}: missing value`, true);
  return value;
}

function removeAt(doc: unknown, path: string): unknown {
  const segments = parsePointer(path);
  const { parent, key } = parentOf(doc, segments, path);
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, key, path, false), 1)[0];
  if (!(key in parent)) throw new PatchError(`unable to remove nonexistent key: ${key}: missing value`, true);
  const value = parent[key];
  delete parent[key];
  return value;
}

function addAt(doc: unknown, path: string, value: unknown): unknown {
  const segments = parsePointer(path);
  if (segments.length === 0) return toJson(value);
  const { parent, key } = parentOf(doc, segments, path);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, path, true), 0, toJson(value));
  else parent[key] = toJson(value);
  return doc;
}

function replaceAt(doc: unknown, path: string, value: unknown): unknown {
  const segments = parsePointer(path);
  if (segments.length === 0) return toJson(value);
  const { parent, key } = parentOf(doc, segments, path);
  if (Array.isArray(parent)) parent[arrayIndex(parent, key, path, false)] = toJson(value);
  else if (key in parent) parent[key] = toJson(value);
  else
    throw new PatchError(
      `replace operation does not apply: doc is missing key: ${path}: missing value`,
      true,
    );
  return doc;
}

export function jsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) {
    throw new PatchError("json: cannot unmarshal object into Go value of type jsonpatch.Patch", false);
  }
  let doc = toJson<unknown>(target);
  for (const operation of operations) {
    if (!isObject(operation)) throw new PatchError("JSON patch operations must be objects", false);
    const { op, path, from, value } = operation;
    const pathText = String(path);
    switch (op) {
      case "add":
        doc = addAt(doc, pathText, value);
        break;
      case "remove":
        removeAt(doc, pathText);
        break;
      case "replace":
        doc = replaceAt(doc, pathText, value);
        break;
      case "move":
        doc = addAt(doc, pathText, removeAt(doc, String(from)));
        break;
      case "copy":
        doc = addAt(doc, pathText, readAt(doc, String(from)));
        break;
      case "test":
        if (!deepEqual(readAt(doc, pathText), value)) {
          throw new PatchError(`testing value ${pathText} failed: test failed`, true);
        }
        break;
      default:
        throw new PatchError(`Unexpected kind: ${String(op)}`, false);
    }
  }
  return doc;
}

// Strategic merge patch: the field names whose lists merge by a key in the built-in types we
// serve. The real server reads this from Go struct tags per type; matching by field name is the
// approximation (documented in README.md).
const mergeKeys: Record<string, string | ((items: unknown[]) => string)> = {
  containers: "name",
  initContainers: "name",
  ephemeralContainers: "name",
  volumes: "name",
  env: "name",
  imagePullSecrets: "name",
  resourceClaims: "name",
  volumeMounts: "mountPath",
  volumeDevices: "devicePath",
  hostAliases: "ip",
  conditions: "type",
  ownerReferences: "uid",
  topologySpreadConstraints: "topologyKey",
  ports: (items) => (items.some((i) => isObject(i) && "containerPort" in i) ? "containerPort" : "port"),
};
const mergedPrimitiveLists = new Set(["finalizers"]);

function mergeList(field: string, current: unknown, patch: unknown[]): unknown[] {
  const keySpec = mergeKeys[field];
  const existing = Array.isArray(current) ? current : [];
  if (patch.some((item) => isObject(item) && item.$patch === "replace")) {
    return patch.filter((item) => !(isObject(item) && item.$patch === "replace")).map((i) => toJson(i));
  }
  if (mergedPrimitiveLists.has(field)) {
    const result = [...existing];
    for (const item of patch) if (!result.some((e) => deepEqual(e, item))) result.push(item);
    return result;
  }
  if (keySpec === undefined) return toJson(patch);
  const key = typeof keySpec === "string" ? keySpec : keySpec([...existing, ...patch]);
  const result = existing.map((item) => toJson<unknown>(item));
  for (const item of patch) {
    if (!isObject(item)) continue;
    const index = result.findIndex((e) => isObject(e) && deepEqual(e[key], item[key]));
    if (item.$patch === "delete") {
      if (index >= 0) result.splice(index, 1);
    } else if (index >= 0) {
      result[index] = strategicMergePatch(result[index], item);
    } else {
      result.push(strategicMergePatch({}, item));
    }
  }
  return result;
}

export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return toJson(patch);
  if (patch.$patch === "delete") return undefined;
  const replace = patch.$patch === "replace";
  const result: JsonObject = isObject(target) && !replace ? toJson(target) : {};
  const retainKeys = Array.isArray(patch.$retainKeys) ? patch.$retainKeys : undefined;
  for (const [key, value] of Object.entries(patch)) {
    if (key === "$patch" || key === "$retainKeys" || key.startsWith("$setElementOrder/")) continue;
    if (key.startsWith("$deleteFromPrimitiveList/")) {
      const field = key.slice("$deleteFromPrimitiveList/".length);
      const list = result[field];
      if (Array.isArray(list) && Array.isArray(value)) {
        result[field] = list.filter((item) => !value.some((v) => deepEqual(v, item)));
      }
      continue;
    }
    if (value === null) {
      delete result[key];
    } else if (Array.isArray(value)) {
      result[key] = mergeList(key, result[key], value);
    } else {
      const merged = strategicMergePatch(result[key], value);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    }
  }
  if (retainKeys) {
    for (const key of Object.keys(result)) if (!retainKeys.includes(key)) delete result[key];
  }
  return result;
}
