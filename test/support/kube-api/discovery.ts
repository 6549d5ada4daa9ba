/**
 * Legacy (unaggregated) discovery documents and /version. Clients that ask for aggregated
 * discovery get the plain documents with `Content-Type: application/json`, which client-go and
 * kubectl accept as "aggregated discovery not supported" and fall back from.
 */

import { apiVersionOf } from "./objects.ts";
import type { JsonObject } from "./objects.ts";
import type { ResourceRegistry, ResourceType } from "./registry.ts";

export const serverVersion = {
  major: "1",
  minor: "32",
  gitVersion: "v1.32.0",
  gitCommit: "0000000000000000000000000000000000000000",
  gitTreeState: "clean",
  buildDate: "2024-12-11T00:00:00Z",
  goVersion: "go1.23.3",
  compiler: "gc",
  platform: "linux/amd64",
};

function apiResource(rt: ResourceType): JsonObject {
  const resource: JsonObject = {
    name: rt.plural,
    singularName: rt.singular,
    namespaced: rt.namespaced,
    kind: rt.kind,
    verbs: rt.verbs,
  };
  if (rt.shortNames.length > 0) resource.shortNames = rt.shortNames;
  if (rt.categories.length > 0) resource.categories = rt.categories;
  return resource;
}

function statusResource(rt: ResourceType): JsonObject {
  return {
    name: `${rt.plural}/status`,
    singularName: "",
    namespaced: rt.namespaced,
    kind: rt.kind,
    verbs: ["get", "patch", "update"],
  };
}

export function apiResourceList(
  registry: ResourceRegistry,
  group: string,
  version: string,
): JsonObject | undefined {
  const types = registry.inGroupVersion(group, version).sort((a, b) => a.plural.localeCompare(b.plural));
  if (types.length === 0) return undefined;
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: apiVersionOf(group, version),
    resources: types.flatMap((rt) =>
      rt.statusSubresource ? [apiResource(rt), statusResource(rt)] : [apiResource(rt)],
    ),
  };
}

function apiGroup(name: string, versions: string[]): JsonObject {
  const entries = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return { name, versions: entries, preferredVersion: entries[0] };
}

export function apiGroupList(registry: ResourceRegistry): JsonObject {
  const groups = registry
    .groups()
    .filter((g) => g.name !== "")
    .sort((a, b) => a.name.localeCompare(b.name));
  return { kind: "APIGroupList", apiVersion: "v1", groups: groups.map((g) => apiGroup(g.name, g.versions)) };
}

export function apiGroupDocument(registry: ResourceRegistry, name: string): JsonObject | undefined {
  const group = registry.groups().find((g) => g.name === name && name !== "");
  return group ? { kind: "APIGroup", apiVersion: "v1", ...apiGroup(group.name, group.versions) } : undefined;
}

export function coreApiVersions(serverAddress: string): JsonObject {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}
