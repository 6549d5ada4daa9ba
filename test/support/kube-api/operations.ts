/**
 * API semantics on top of the store: metadata (uid, resourceVersion, generation), status
 * subresource rules, optimistic concurrency, finalizers, patches, namespaces and garbage
 * collection. Both the HTTP router and the double's programmatic API go through here.
 */

import { randomUUID } from "node:crypto";
import { serverSideApply } from "./apply.ts";
import {
  ApiError,
  alreadyExists,
  badRequest,
  conflict,
  failure,
  forbidden,
  invalid,
  notFound,
  staleObject,
  unsupportedMediaType,
} from "./errors.ts";
import type { ErrorTarget, StatusCause } from "./errors.ts";
import { deepEqual, isObject, timestamp, toJson } from "./objects.ts";
import type { JsonObject, KubeObject } from "./objects.ts";
import { PatchError, jsonPatch, mergePatch, strategicMergePatch } from "./patch.ts";
import { apiVersionOfType } from "./registry.ts";
import type { HookContext, ResourceRegistry, ResourceType } from "./registry.ts";
import { applyStructuralSchema } from "./schema.ts";
import type { ObjectFilter } from "./selectors.ts";
import type { ObjectStore } from "./store.ts";
import { validateMetadata } from "./validation.ts";

export interface WriteOptions {
  dryRun?: boolean;
  /** HTTP creates drop `status` when the type has a status subresource; seeding from tests keeps it. */
  keepStatus?: boolean;
}

export interface UpdateOptions extends WriteOptions {
  /** "" for the main resource, "status" for the status subresource. */
  subresource?: string;
}

export interface PatchOptions extends UpdateOptions {
  fieldManager?: string;
  force?: boolean;
}

export interface DeleteOptions {
  propagationPolicy?: string;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface ListOptions {
  filter?: ObjectFilter;
  limit?: number;
  continueToken?: string;
}

export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
  continueToken?: string;
  remainingItemCount?: number;
}

export const patchTypes = {
  json: "application/json-patch+json",
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  apply: "application/apply-patch+yaml",
} as const;

const generatedNameAlphabet = "bcdfghjklmnpqrstvwxz2456789";

function target(rt: ResourceType): ErrorTarget {
  return { group: rt.group, plural: rt.plural };
}

/** Everything but metadata (and status, when it has its own subresource): what `generation` tracks. */
function specContent(rt: ResourceType, obj: KubeObject): JsonObject {
  const { metadata: _metadata, apiVersion: _apiVersion, kind: _kind, ...rest } = obj;
  if (rt.statusSubresource) delete rest.status;
  return rest;
}

function withoutVersion(obj: KubeObject): KubeObject {
  return { ...obj, metadata: { ...obj.metadata, resourceVersion: undefined } };
}

export class Operations {
  readonly store: ObjectStore;
  readonly registry: ResourceRegistry;
  readonly hookContext: HookContext;
  private nextClusterIp = 1;
  private settling = false;

  constructor(store: ObjectStore, registry: ResourceRegistry) {
    this.store = store;
    this.registry = registry;
    this.hookContext = {
      registry,
      dropStorage: (storage) => this.dropStorage(storage),
      allocateClusterIp: () => {
        const n = this.nextClusterIp++;
        return `10.96.${Math.floor(n / 250)}.${(n % 250) + 1}`;
      },
    };
  }

  // ---- views ---------------------------------------------------------------------------------

  /** A stored object as the given resource version serves it (a fresh copy, safe to mutate). */
  present(rt: ResourceType, stored: KubeObject): KubeObject {
    const copy = toJson<KubeObject>(stored);
    const view = rt.fromStorage ? rt.fromStorage(copy) : copy;
    return { ...view, apiVersion: apiVersionOfType(rt), kind: rt.kind };
  }

  private toStorage(rt: ResourceType, obj: KubeObject): KubeObject {
    const stored = rt.toStorage ? rt.toStorage(obj) : obj;
    const primary = this.registry.primary(rt.storage) ?? rt;
    return { ...stored, apiVersion: apiVersionOfType(primary), kind: primary.kind };
  }

  // ---- reads ---------------------------------------------------------------------------------

  get(rt: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const stored = this.store.get(rt.storage, rt.namespaced ? namespace : undefined, name);
    if (!stored) throw notFound(target(rt), name);
    return this.present(rt, stored);
  }

  list(rt: ResourceType, namespace: string | undefined, options: ListOptions = {}): ListResult {
    const resourceVersion = String(this.store.currentRevision());
    const filter = options.filter ?? (() => true);
    let stored = this.store.list(rt.storage, rt.namespaced ? namespace : undefined);
    if (options.continueToken) {
      const after = decodeContinue(options.continueToken);
      stored = stored.filter((o) => objectKey(o) > after);
    }
    const matching = stored.map((o) => this.present(rt, o)).filter(filter);
    const limit = options.limit && options.limit > 0 ? options.limit : matching.length;
    const items = matching.slice(0, limit);
    const result: ListResult = { items, resourceVersion };
    const last = items[items.length - 1];
    if (matching.length > limit && last) {
      result.continueToken = encodeContinue(objectKey(last));
      result.remainingItemCount = matching.length - limit;
    }
    return result;
  }

  // ---- create --------------------------------------------------------------------------------

  create(
    rt: ResourceType,
    namespace: string | undefined,
    body: unknown,
    options: WriteOptions = {},
  ): KubeObject {
    const obj = this.normaliseBody(rt, body, namespace);
    const meta = obj.metadata;
    if (meta.resourceVersion) throw badRequest("resourceVersion should not be set on objects to be created");
    if (!meta.name && meta.generateName) meta.name = this.generateName(rt, meta.namespace, meta.generateName);
    if (rt.namespaced) this.checkNamespaceAcceptsContent(rt, meta.namespace ?? "", meta.name ?? "");
    meta.uid = randomUUID();
    meta.creationTimestamp = timestamp();
    meta.generation = 1;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    if (rt.statusSubresource && !options.keepStatus) delete obj.status;
    rt.hooks?.prepareCreate?.(obj, this.hookContext);
    this.validate(rt, obj);
    if (this.store.get(rt.storage, meta.namespace, meta.name ?? "")) {
      throw alreadyExists(target(rt), meta.name ?? "");
    }
    if (options.dryRun) return obj;
    const stored = this.store.put(rt.storage, this.toStorage(rt, obj));
    this.afterCommit(rt, "ADDED", stored);
    this.settle();
    return this.present(rt, stored);
  }

  private generateName(rt: ResourceType, namespace: string | undefined, prefix: string): string {
    for (;;) {
      let suffix = "";
      for (let i = 0; i < 5; i++) {
        suffix += generatedNameAlphabet[Math.floor(Math.random() * generatedNameAlphabet.length)];
      }
      const name = `${prefix}${suffix}`;
      if (!this.store.get(rt.storage, namespace, name)) return name;
    }
  }

  /** Creating in a missing namespace is a 404, in a terminating one a 403, as on a real cluster. */
  private checkNamespaceAcceptsContent(rt: ResourceType, namespace: string, name: string): void {
    const ns = this.store.get("/namespaces", undefined, namespace);
    if (!ns) throw notFound({ group: "", plural: "namespaces" }, namespace);
    if (ns.metadata.deletionTimestamp) {
      throw forbidden(
        `${rt.plural} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
      );
    }
  }

  /** Checks the body's kind, apiVersion and namespace against the endpoint and fills what is missing. */
  private normaliseBody(rt: ResourceType, body: unknown, namespace: string | undefined): KubeObject {
    if (!isObject(body)) throw badRequest("the body of the request must be a JSON or YAML object");
    const obj = toJson<KubeObject>(body);
    const expectedApiVersion = apiVersionOfType(rt);
    if (rt.custom && !obj.kind) throw badRequest(`Object 'Kind' is missing in '${JSON.stringify(body)}'`);
    if (rt.custom && !obj.apiVersion) {
      throw badRequest(`Object 'apiVersion' is missing in '${JSON.stringify(body)}'`);
    }
    if (obj.apiVersion && obj.apiVersion !== expectedApiVersion) {
      throw badRequest(
        `the API version in the data (${obj.apiVersion}) does not match the expected API version (${expectedApiVersion})`,
      );
    }
    if (obj.kind && obj.kind !== rt.kind) {
      throw badRequest(`the kind in the data (${obj.kind}) does not match the expected kind (${rt.kind})`);
    }
    obj.apiVersion = expectedApiVersion;
    obj.kind = rt.kind;
    if (!isObject(obj.metadata)) obj.metadata = {};
    if (rt.namespaced) {
      if (obj.metadata.namespace && namespace && obj.metadata.namespace !== namespace) {
        throw badRequest(
          "the namespace of the provided object does not match the namespace sent on the request",
        );
      }
      obj.metadata.namespace = namespace ?? obj.metadata.namespace ?? "default";
    } else {
      delete obj.metadata.namespace;
    }
    return obj;
  }

  private validate(rt: ResourceType, obj: KubeObject): void {
    const causes: StatusCause[] = [];
    if (rt.schema) causes.push(...applyStructuralSchema(rt.schema, obj));
    causes.push(...validateMetadata(obj, rt.nameRule));
    causes.push(...(rt.hooks?.validate?.(obj) ?? []));
    if (causes.length > 0) throw invalid(rt.group, rt.kind, obj.metadata.name ?? "", causes);
  }

  // ---- update --------------------------------------------------------------------------------

  update(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    body: unknown,
    options: UpdateOptions = {},
  ): KubeObject {
    const current = this.get(rt, namespace, name);
    const obj = this.normaliseBody(rt, body, namespace);
    if (obj.metadata.name && obj.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    obj.metadata.name = name;
    return this.replace(rt, current, obj, options);
  }

  /** The update path shared by PUT and PATCH: preconditions, subresource rules, generation, finalizers. */
  private replace(
    rt: ResourceType,
    current: KubeObject,
    obj: KubeObject,
    options: UpdateOptions,
  ): KubeObject {
    const name = current.metadata.name ?? "";
    if (obj.metadata.resourceVersion && obj.metadata.resourceVersion !== current.metadata.resourceVersion) {
      throw conflict(target(rt), name, staleObject);
    }
    if (obj.metadata.uid && obj.metadata.uid !== current.metadata.uid) {
      throw conflict(
        target(rt),
        name,
        `Precondition failed: UID in precondition: ${obj.metadata.uid}, UID in object meta: ${current.metadata.uid}`,
      );
    }
    const next = this.mergeForUpdate(rt, current, obj, options.subresource ?? "");
    rt.hooks?.prepareUpdate?.(next, current, this.hookContext);
    this.validate(rt, next);
    this.checkNewFinalizers(rt, current, next);
    if (!deepEqual(specContent(rt, current), specContent(rt, next))) {
      next.metadata.generation = (current.metadata.generation ?? 0) + 1;
    }
    if (deepEqual(withoutVersion(current), withoutVersion(next))) return current;
    if (options.dryRun) return next;
    if (next.metadata.deletionTimestamp && (next.metadata.finalizers ?? []).length === 0) {
      const deleted = this.removeStored(rt, this.toStorage(rt, next));
      return deleted ? this.present(rt, deleted) : next;
    }
    const stored = this.store.put(rt.storage, this.toStorage(rt, next));
    this.afterCommit(rt, "MODIFIED", stored);
    this.settle();
    return this.present(rt, stored);
  }

  /** What the stored object becomes: the main endpoint ignores status, /status ignores everything else. */
  private mergeForUpdate(
    rt: ResourceType,
    current: KubeObject,
    obj: KubeObject,
    subresource: string,
  ): KubeObject {
    if (subresource === "status") {
      // Only status changes; managedFields come along so a status apply records its ownership.
      const next = toJson<KubeObject>(current);
      if (obj.status === undefined) delete next.status;
      else next.status = toJson(obj.status);
      if (obj.metadata.managedFields !== undefined) {
        next.metadata.managedFields = toJson(obj.metadata.managedFields);
      }
      return next;
    }
    const next = obj;
    const keep = [
      "uid",
      "creationTimestamp",
      "namespace",
      "name",
      "generation",
      "deletionTimestamp",
      "deletionGracePeriodSeconds",
    ];
    for (const key of keep) {
      if (current.metadata[key] === undefined) delete next.metadata[key];
      else next.metadata[key] = current.metadata[key];
    }
    if (next.metadata.managedFields === undefined && current.metadata.managedFields !== undefined) {
      next.metadata.managedFields = current.metadata.managedFields;
    }
    if (rt.statusSubresource) {
      if (current.status === undefined) delete next.status;
      else next.status = toJson(current.status);
    }
    return next;
  }

  private checkNewFinalizers(rt: ResourceType, current: KubeObject, next: KubeObject): void {
    if (!current.metadata.deletionTimestamp) return;
    const before = new Set(current.metadata.finalizers ?? []);
    const added = (next.metadata.finalizers ?? []).filter((f) => !before.has(f));
    if (added.length === 0) return;
    throw invalid(rt.group, rt.kind, current.metadata.name ?? "", [
      {
        reason: "FieldValueForbidden",
        field: "metadata.finalizers",
        message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`,
      },
    ]);
  }

  // ---- patch ---------------------------------------------------------------------------------

  patch(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    contentType: string,
    patchBody: unknown,
    options: PatchOptions = {},
  ): KubeObject {
    const type = contentType.split(";")[0]?.trim() ?? "";
    const accepted = rt.custom
      ? [patchTypes.json, patchTypes.merge, patchTypes.apply]
      : [patchTypes.json, patchTypes.merge, patchTypes.strategic, patchTypes.apply];
    if (!(accepted as string[]).includes(type)) throw unsupportedMediaType(contentType, accepted);
    if (type === patchTypes.apply) return this.apply(rt, namespace, name, patchBody, options);
    const current = this.get(rt, namespace, name);
    let patched: unknown;
    try {
      if (type === patchTypes.json) patched = jsonPatch(current, patchBody);
      else if (type === patchTypes.merge) patched = mergePatch(current, patchBody);
      else patched = strategicMergePatch(current, patchBody);
    } catch (error) {
      throw patchFailure(error);
    }
    const obj = this.normaliseBody(rt, patched, namespace);
    if (obj.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${String(obj.metadata.name)}) does not match the name on the URL (${name})`,
      );
    }
    return this.replace(rt, current, obj, options);
  }

  private apply(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    applied: unknown,
    options: PatchOptions,
  ): KubeObject {
    if (!options.fieldManager) {
      throw invalid("meta.k8s.io", "PatchOptions", "", [
        {
          reason: "FieldValueRequired",
          field: "fieldManager",
          message: "Required value: is required for apply patch",
        },
      ]);
    }
    if (!isObject(applied)) throw badRequest("the body of an apply patch must be an object");
    if (!applied.apiVersion || !applied.kind) {
      throw badRequest(`Object 'Kind' or 'apiVersion' is missing in '${JSON.stringify(applied)}'`);
    }
    this.normaliseBody(rt, applied, namespace);
    const appliedMeta = isObject(applied.metadata) ? applied.metadata : {};
    if (appliedMeta.name !== name) {
      throw badRequest(
        `the name of the object (${String(appliedMeta.name ?? "")}) does not match the name on the URL (${name})`,
      );
    }
    const stored = this.store.get(rt.storage, rt.namespaced ? namespace : undefined, name);
    const live = stored ? this.present(rt, stored) : undefined;
    const subresource = options.subresource ?? "";
    if (!live && subresource) throw notFound(target(rt), name);
    const merged = serverSideApply({
      live,
      applied,
      manager: options.fieldManager,
      force: options.force === true,
      subresource,
      statusSubresource: rt.statusSubresource,
      apiVersion: apiVersionOfType(rt),
      now: timestamp(),
    });
    if (!live) return this.create(rt, namespace, merged, options);
    return this.replace(rt, live, this.normaliseBody(rt, merged, namespace), options);
  }

  // ---- delete --------------------------------------------------------------------------------

  /** Deletes now, or marks for deletion when finalizers remain; returns the object and which happened. */
  delete(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions = {},
  ): { object: KubeObject; deleted: boolean } {
    const current = this.get(rt, namespace, name);
    const { uid, resourceVersion } = options.preconditions ?? {};
    if (uid && uid !== current.metadata.uid) {
      throw conflict(
        target(rt),
        name,
        `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${current.metadata.uid}`,
      );
    }
    if (resourceVersion && resourceVersion !== current.metadata.resourceVersion) {
      throw conflict(
        target(rt),
        name,
        `Precondition failed: ResourceVersion in precondition: ${resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`,
      );
    }
    if (options.dryRun) return { object: current, deleted: false };
    if (options.propagationPolicy === "Orphan") this.orphanDependents(current.metadata.uid ?? "");
    if (rt.storage === "/namespaces") return this.deleteNamespace(rt, current);
    if ((current.metadata.finalizers ?? []).length > 0) {
      return { object: this.markDeleting(rt, current), deleted: false };
    }
    const deleted = this.removeStored(rt, this.toStorage(rt, current));
    return { object: deleted ? this.present(rt, deleted) : current, deleted: true };
  }

  /** Sets deletionTimestamp once (bumping generation, as the real server does) and keeps the object. */
  private markDeleting(rt: ResourceType, current: KubeObject): KubeObject {
    if (current.metadata.deletionTimestamp) return current;
    const next = toJson<KubeObject>(current);
    next.metadata.deletionTimestamp = timestamp();
    next.metadata.deletionGracePeriodSeconds = 0;
    next.metadata.generation = (current.metadata.generation ?? 0) + 1;
    const stored = this.store.put(rt.storage, this.toStorage(rt, next));
    this.afterCommit(rt, "MODIFIED", stored);
    return this.present(rt, stored);
  }

  private removeStored(rt: ResourceType, finalState: KubeObject): KubeObject | undefined {
    const deleted = this.store.remove(rt.storage, finalState);
    if (!deleted) return undefined;
    this.afterCommit(rt, "DELETED", deleted);
    this.settle();
    return deleted;
  }

  /** A namespace goes Terminating, its contents are deleted, and it disappears once empty. */
  private deleteNamespace(rt: ResourceType, current: KubeObject): { object: KubeObject; deleted: boolean } {
    const name = current.metadata.name ?? "";
    if (!current.metadata.deletionTimestamp) {
      const next = toJson<KubeObject>(current);
      next.metadata.deletionTimestamp = timestamp();
      next.metadata.deletionGracePeriodSeconds = 0;
      next.status = { ...(isObject(next.status) ? next.status : {}), phase: "Terminating" };
      this.store.put(rt.storage, next);
    }
    for (const { rt: contentType, obj } of this.namespaceContents(name)) {
      if (!obj.metadata.deletionTimestamp) this.deleteStored(contentType, obj);
    }
    this.settle();
    const remaining = this.store.get(rt.storage, undefined, name);
    return remaining
      ? { object: this.present(rt, remaining), deleted: false }
      : { object: current, deleted: true };
  }

  private namespaceContents(namespace: string): { rt: ResourceType; obj: KubeObject }[] {
    const contents: { rt: ResourceType; obj: KubeObject }[] = [];
    for (const storage of this.store.storages()) {
      const rt = this.registry.primary(storage);
      if (!rt?.namespaced) continue;
      for (const obj of this.store.list(storage, namespace)) contents.push({ rt, obj });
    }
    return contents;
  }

  /** Removes terminating namespaces that have become empty; returns whether any went. */
  private finishTerminatingNamespaces(): boolean {
    const nsType = this.registry.primary("/namespaces");
    let changed = false;
    for (const ns of this.store.list("/namespaces")) {
      if (!nsType || !ns.metadata.deletionTimestamp) continue;
      if (this.namespaceContents(ns.metadata.name ?? "").length > 0) continue;
      this.removeStored(nsType, ns);
      changed = true;
    }
    return changed;
  }

  /**
   * Deletes an object in the background (GC, namespace cleanup), honouring finalizers. Re-reads
   * it first: an earlier cascade in the same pass may already have removed or marked it.
   */
  private deleteStored(rt: ResourceType, snapshot: KubeObject): boolean {
    const stored = this.store.get(rt.storage, snapshot.metadata.namespace, snapshot.metadata.name ?? "");
    const gone = !stored || stored.metadata.uid !== snapshot.metadata.uid;
    if (gone || stored.metadata.deletionTimestamp) return false;
    if ((stored.metadata.finalizers ?? []).length > 0) this.markDeleting(rt, this.present(rt, stored));
    else this.removeStored(rt, stored);
    return true;
  }

  /**
   * Runs garbage collection and namespace cleanup until nothing changes. Re-entrant calls (a
   * deletion inside the loop) return at once; the outer loop picks up their consequences.
   */
  private settle(): void {
    if (this.settling) return;
    this.settling = true;
    try {
      while (this.collectGarbage() || this.finishTerminatingNamespaces()) {
        // keep going: one deletion can orphan the next generation of dependents
      }
    } finally {
      this.settling = false;
    }
  }

  private orphanDependents(uid: string): void {
    for (const storage of this.store.storages()) {
      const rt = this.registry.primary(storage);
      if (!rt) continue;
      for (const obj of this.store.list(storage)) {
        const refs = obj.metadata.ownerReferences ?? [];
        if (!refs.some((r) => r.uid === uid)) continue;
        const next = toJson<KubeObject>(obj);
        next.metadata.ownerReferences = refs.filter((r) => r.uid !== uid);
        if (next.metadata.ownerReferences.length === 0) delete next.metadata.ownerReferences;
        this.store.put(storage, next);
      }
    }
  }

  /**
   * One pass of background garbage collection, run synchronously after every write: an object
   * none of whose owners (by ownerReferences uid) exists any more is deleted, as the real GC
   * would do moments later. Returns whether anything was deleted.
   */
  private collectGarbage(): boolean {
    let changed = false;
    for (const storage of this.store.storages()) {
      const rt = this.registry.primary(storage);
      if (!rt) continue;
      for (const obj of this.store.list(storage)) {
        const refs = obj.metadata.ownerReferences ?? [];
        if (refs.length === 0 || obj.metadata.deletionTimestamp) continue;
        if (refs.some((r) => this.store.getByUid(r.uid))) continue;
        changed = this.deleteStored(rt, obj) || changed;
      }
    }
    return changed;
  }

  /** Drops every object of a storage at once (a deleted CRD's custom resources). */
  dropStorage(storage: string): void {
    for (const obj of this.store.list(storage)) this.store.remove(storage, obj);
    this.settle();
  }

  private afterCommit(rt: ResourceType, type: "ADDED" | "MODIFIED" | "DELETED", stored: KubeObject): void {
    const primary = this.registry.primary(rt.storage) ?? rt;
    primary.hooks?.afterCommit?.(type, stored, this.hookContext);
  }
}

function objectKey(obj: KubeObject): string {
  return `${obj.metadata.namespace ?? ""}/${obj.metadata.name ?? ""}`;
}

function encodeContinue(key: string): string {
  return Buffer.from(JSON.stringify({ v: "meta.k8s.io/v1", start: key })).toString("base64url");
}

function decodeContinue(token: string): string {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (isObject(parsed) && typeof parsed.start === "string") return parsed.start;
  } catch {
    // fall through to the error the real server gives for a garbled token
  }
  throw badRequest("continue key is not valid: invalid continue token");
}

function patchFailure(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof PatchError && error.invalid) {
    // The real server wraps patch application errors in a generic 422 with the detail as a cause.
    return failure(422, "Invalid", "the server rejected our request due to an error in our request", {
      causes: [{ message: error.message }],
    });
  }
  return badRequest(error instanceof Error ? error.message : String(error));
}
