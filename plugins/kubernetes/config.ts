/** The kubernetes source's config: what to watch and the filters one stream applies. */
import type { ResourceType } from "./informers.ts";

export type ChangeAction = "create" | "update" | "delete";

export interface WatchedResource extends ResourceType {
  /** Which changes become events. (Not `on`: YAML 1.1, as kubectl reads it, turns that key into `true`.) */
  actions: ChangeAction[];
  /** An update is announced only when a changed path is, is under, or contains one of these. */
  updateFields: string[];
}

export interface KubernetesConfig {
  namespaces: { include: string[]; exclude: string[] };
  events: {
    enabled: boolean;
    types: ("Normal" | "Warning")[];
    /** involvedObject.kind; empty: any. */
    kinds: string[];
    reasons: string[];
    messages: string[];
  };
  resources: WatchedResource[];
  /** Kubernetes label selector syntax, applied to changed objects: "app=web,tier!=cache,env in (prod)". */
  labelSelector: string;
  /** Annotations an object must carry, with these values. */
  annotations: Record<string, string>;
  /** Objects annotated with this set to "true" are never reported, nor are the Events about them. */
  ignoreAnnotation: string;
}

const regexList = (description: string, defaultValue: string[]) => ({
  type: "array",
  items: { type: "string", format: "regex" },
  default: defaultValue,
  description,
});

export const configSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    namespaces: {
      type: "object",
      additionalProperties: false,
      default: {},
      properties: {
        include: regexList("Namespaces to report (anchored regexes). Cluster-scoped objects always pass.", [
          ".*",
        ]),
        exclude: regexList("Namespaces never reported, even when included.", []),
      },
    },
    events: {
      type: "object",
      additionalProperties: false,
      default: {},
      description: "Kubernetes Events (core v1).",
      properties: {
        enabled: { type: "boolean", default: true },
        types: {
          type: "array",
          items: { enum: ["Normal", "Warning"] },
          uniqueItems: true,
          default: ["Warning"],
        },
        kinds: {
          type: "array",
          items: { type: "string", minLength: 1 },
          default: [],
          description: "Kinds of the involved object, e.g. Pod. Empty: any.",
        },
        reasons: regexList("Event reasons to report (anchored regexes). Empty: any.", []),
        messages: regexList("Regexes searched in the message; one must match. Empty: any.", []),
      },
    },
    resources: {
      type: "array",
      default: [],
      description: "Resource types whose create/update/delete become events.",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["version", "resource"],
        properties: {
          group: { type: "string", default: "", pattern: "^[a-z0-9.-]*$" },
          version: { type: "string", pattern: "^v[0-9]+((alpha|beta)[0-9]+)?$" },
          resource: { type: "string", pattern: "^[a-z0-9-]+$", description: "Plural: deployments." },
          actions: {
            type: "array",
            description: "Which changes become events.",
            items: { enum: ["create", "update", "delete"] },
            uniqueItems: true,
            default: ["create", "update", "delete"],
          },
          updateFields: {
            type: "array",
            items: { type: "string", minLength: 1 },
            default: ["spec", "metadata.labels", "metadata.annotations"],
            description:
              "Announce an update only when a path under one of these changed: any top-level field, e.g. 'status', or 'data' for ConfigMaps and Secrets.",
          },
        },
      },
    },
    labelSelector: { type: "string", default: "", description: "Label selector for changed objects." },
    annotations: {
      type: "object",
      additionalProperties: { type: "string" },
      default: {},
      description: "Annotations a changed object must carry.",
    },
    ignoreAnnotation: {
      type: "string",
      minLength: 1,
      default: "patchbay.dev/ignore",
      description:
        'Objects annotated with this set to "true" are not reported, nor are the Events about them.',
    },
  },
} as const;
