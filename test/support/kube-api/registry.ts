/** The resource types the double serves: built-ins plus whatever CRDs register at run time. */

import type { StatusCause } from "./errors.ts";
import { apiVersionOf } from "./objects.ts";
import type { JsonObject, KubeObject } from "./objects.ts";

export interface PrinterColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  /** The cell for one object; `date` columns return a timestamp that the table renders as an age. */
  value: (obj: KubeObject) => unknown;
}

/** What resource hooks may touch beyond the object itself. */
export interface HookContext {
  registry: ResourceRegistry;
  /** Removes every object of a storage (a deleted CRD takes its custom resources with it). */
  dropStorage(storage: string): void;
  /** Allocates a fake cluster IP for a Service. */
  allocateClusterIp(): string;
}

export interface ResourceHooks {
  /** Server-side defaults and fields set on create (before validation). */
  prepareCreate?(obj: KubeObject, ctx: HookContext): void;
  /** Fields carried over or derived on update (before validation). */
  prepareUpdate?(next: KubeObject, previous: KubeObject, ctx: HookContext): void;
  /** Type-specific validation; causes become a 422 Invalid. */
  validate?(obj: KubeObject): StatusCause[];
  /** Runs after a write is stored, e.g. a CRD registering its resource. */
  afterCommit?(type: "ADDED" | "MODIFIED" | "DELETED", obj: KubeObject, ctx: HookContext): void;
}

export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  statusSubresource: boolean;
  /** Served from a CRD: no strategic merge patch, kind/apiVersion required in bodies. */
  custom: boolean;
  /** Objects of several views (events vs events.k8s.io events, CRD versions) share one storage. */
  storage: string;
  /** The view objects are stored as; other views convert on the way in and out. */
  storageVersion: boolean;
  /** Pods and Services answer DELETE with the object, everything else with a Status. */
  returnDeletedObject: boolean;
  /** `metadata.name` rule: DNS-1123 subdomain for most, DNS-1123 label for namespaces and services. */
  nameRule: "subdomain" | "label";
  /** Fields a fieldSelector may use besides metadata.name/namespace. */
  selectableFields: string[];
  /** Table columns after Name; undefined means a single Age column. */
  columns?: PrinterColumn[];
  /** Structural OpenAPI schema (custom resources): validation, pruning and defaulting. */
  schema?: JsonObject;
  /** Converts a stored object into this view, and back. */
  fromStorage?(obj: KubeObject): KubeObject;
  toStorage?(obj: KubeObject): KubeObject;
  hooks?: ResourceHooks;
}

export const standardVerbs = [
  "create",
  "delete",
  "deletecollection",
  "get",
  "list",
  "patch",
  "update",
  "watch",
];

export function apiVersionOfType(rt: ResourceType): string {
  return apiVersionOf(rt.group, rt.version);
}

/** `v1` > `v1beta2` > `v1beta1` > `v1alpha1` > anything else, as Kubernetes orders versions. */
function versionPriority(version: string): number[] {
  const match = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(version);
  if (!match) return [0, 0, 0];
  const stability = match[2] === undefined ? 3 : match[2] === "beta" ? 2 : 1;
  return [stability, Number(match[1]), Number(match[3] ?? 0)];
}

function compareVersions(a: string, b: string): number {
  const pa = versionPriority(a);
  const pb = versionPriority(b);
  for (let i = 0; i < pa.length; i++) {
    const diff = (pb[i] ?? 0) - (pa[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return a.localeCompare(b);
}

export class ResourceRegistry {
  private readonly types = new Map<string, ResourceType>();

  private static key(group: string, version: string, plural: string): string {
    return `${group}/${version}/${plural}`;
  }

  register(rt: ResourceType): void {
    this.types.set(ResourceRegistry.key(rt.group, rt.version, rt.plural), rt);
  }

  /** Removes every version of a group/resource (a CRD being replaced or deleted). */
  unregister(group: string, plural: string): void {
    for (const [key, rt] of this.types) {
      if (rt.group === group && rt.plural === plural) this.types.delete(key);
    }
  }

  lookup(group: string, version: string, plural: string): ResourceType | undefined {
    return this.types.get(ResourceRegistry.key(group, version, plural));
  }

  forKind(group: string, version: string, kind: string): ResourceType | undefined {
    for (const rt of this.types.values()) {
      if (rt.group === group && rt.version === version && rt.kind === kind) return rt;
    }
    return undefined;
  }

  /** The view a storage is kept in (used for GC and messages that are not tied to a request). */
  primary(storage: string): ResourceType | undefined {
    for (const rt of this.types.values()) if (rt.storage === storage && rt.storageVersion) return rt;
    return undefined;
  }

  all(): ResourceType[] {
    return [...this.types.values()];
  }

  inGroupVersion(group: string, version: string): ResourceType[] {
    return this.all().filter((rt) => rt.group === group && rt.version === version);
  }

  /** Groups (core first) with their versions, most preferred first. */
  groups(): { name: string; versions: string[] }[] {
    const byGroup = new Map<string, Set<string>>();
    for (const rt of this.types.values()) {
      const versions = byGroup.get(rt.group) ?? new Set<string>();
      versions.add(rt.version);
      byGroup.set(rt.group, versions);
    }
    return [...byGroup.entries()].map(([name, versions]) => ({
      name,
      versions: [...versions].sort(compareVersions),
    }));
  }
}
