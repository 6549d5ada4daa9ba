/**
 * Patchbay's resources as the client sees them. The API types in src/api keep timestamps as the
 * strings on the wire; client-node's metadata types say Date. Objects here come from JSON (lists
 * and watch events of custom resources are not deserialised), so they are both at once.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Notifier, PluginResource } from "../api/v1alpha1/index.ts";

export type PluginObject = PluginResource & KubernetesObject;
export type NotifierObject = Notifier & KubernetesObject;
