/**
 * Minimal OpenAPI v3 documents: one per group-version, with a PATCH operation per kind that
 * declares the `fieldValidation` query parameter. That is what kubectl looks for before it
 * leaves validation to the server (so `kubectl apply` works without --validate=false), and CRD
 * schemas are included so `kubectl explain` works for custom resources. Built-in types have no
 * schemas here. OpenAPI v2 is not served (404), as on servers that disabled it.
 */

import { createHash } from "node:crypto";

import type { JsonObject } from "./objects.ts";
import type { ResourceRegistry, ResourceType } from "./registry.ts";

export function openApiV2(_registry: ResourceRegistry): unknown {
  return undefined;
}

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

/** `dev.patchbay.v1alpha1.SourcePlugin`, the reverse-domain naming the real server uses. */
function schemaName(rt: ResourceType): string {
  const group = rt.group ? rt.group.split(".").reverse().join(".") : "io.k8s.api.core";
  return `${group}.${rt.version}.${rt.kind}`;
}

function gvk(rt: ResourceType): JsonObject {
  return { group: rt.group, version: rt.version, kind: rt.kind };
}

function objectPath(rt: ResourceType): string {
  const base = `/${gvPath(rt.group, rt.version)}`;
  return rt.namespaced ? `${base}/namespaces/{namespace}/${rt.plural}/{name}` : `${base}/${rt.plural}/{name}`;
}

function operations(rt: ResourceType): JsonObject {
  const ref = { $ref: `#/components/schemas/${schemaName(rt)}` };
  const response = { "200": { description: "OK", content: { "application/json": { schema: ref } } } };
  const query = (name: string): JsonObject => ({
    name,
    in: "query",
    schema: { type: "string", uniqueItems: true },
  });
  const extensions = { "x-kubernetes-group-version-kind": gvk(rt) };
  return {
    get: { ...extensions, "x-kubernetes-action": "get", responses: response },
    put: {
      ...extensions,
      "x-kubernetes-action": "put",
      parameters: [query("fieldValidation")],
      responses: response,
    },
    patch: {
      ...extensions,
      "x-kubernetes-action": "patch",
      parameters: [query("dryRun"), query("fieldManager"), query("fieldValidation"), query("force")],
      responses: response,
    },
    delete: { ...extensions, "x-kubernetes-action": "delete", responses: response },
  };
}

function schemaFor(rt: ResourceType): JsonObject {
  const base: JsonObject = rt.schema
    ? { ...rt.schema }
    : { type: "object", "x-kubernetes-preserve-unknown-fields": true };
  const properties: JsonObject = {
    apiVersion: {
      type: "string",
      description: "APIVersion defines the versioned schema of this representation of an object.",
    },
    kind: {
      type: "string",
      description: "Kind is a string value representing the REST resource this object represents.",
    },
    metadata: { type: "object", description: "Standard object's metadata." },
    ...(typeof base.properties === "object" && base.properties !== null
      ? (base.properties as JsonObject)
      : {}),
  };
  return { ...base, type: "object", properties, "x-kubernetes-group-version-kind": [gvk(rt)] };
}

export function openApiV3Document(registry: ResourceRegistry, segments: string[]): JsonObject | undefined {
  const [prefix, a, b] = segments;
  const group = prefix === "apis" ? (a ?? "") : "";
  const version = prefix === "apis" ? (b ?? "") : (a ?? "");
  const types = registry.inGroupVersion(group, version);
  if (types.length === 0) return undefined;
  const paths: JsonObject = {};
  const schemas: JsonObject = {};
  for (const rt of types) {
    paths[objectPath(rt)] = operations(rt);
    schemas[schemaName(rt)] = schemaFor(rt);
  }
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: "v1.32.0" },
    paths,
    components: { schemas },
  };
}

export function openApiV3Index(registry: ResourceRegistry): JsonObject {
  const paths: JsonObject = {};
  for (const { name, versions } of registry.groups()) {
    for (const version of versions) {
      const path = gvPath(name, version);
      const document = openApiV3Document(registry, path.split("/"));
      const hash = createHash("sha512").update(JSON.stringify(document)).digest("hex").toUpperCase();
      paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${hash}` };
    }
  }
  return { paths };
}
