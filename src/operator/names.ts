/** Names and labels of what the operator creates for a plugin, shared by pod and sidecar workloads. */
import { createHash } from "node:crypto";
import type { PluginKindName } from "../hub/index.ts";

export const MANAGED_BY = "patchbay";
export const FIELD_MANAGER = "patchbay";
export const FINALIZER = "patchbay.dev/cleanup";
export const KIND_LABEL = "patchbay.dev/kind";

const MAX_NAME = 63;

/** `patchbay-<kind>-<name>`, a DNS label: names longer than 63 are cut and made unique with a hash. */
export function workloadName(kind: PluginKindName, name: string): string {
  const full = `patchbay-${kind}-${name}`;
  if (full.length <= MAX_NAME) return full;
  const hash = createHash("sha256").update(full).digest("hex").slice(0, 8);
  return `${full.slice(0, MAX_NAME - hash.length - 1).replace(/-+$/, "")}-${hash}`;
}

/**
 * The plugin's own name for app.kubernetes.io/name: the folder of a bundled plugin
 * (`plugins/<name>/main.ts`), else the CR name.
 */
export function pluginAppName(args: readonly string[] | undefined, crName: string): string {
  for (const arg of args ?? []) {
    const match = /(?:^|\/)plugins\/([a-z0-9][-a-z0-9]*)\//.exec(arg);
    if (match?.[1]) return match[1].slice(0, MAX_NAME);
  }
  return crName;
}

/** Labels that select a plugin's Pods; part of an immutable Deployment selector, so never change them. */
export function selectorLabels(kind: PluginKindName, crName: string): Record<string, string> {
  return {
    "app.kubernetes.io/instance": crName,
    "app.kubernetes.io/managed-by": MANAGED_BY,
    [KIND_LABEL]: kind,
  };
}

export function workloadLabels(
  kind: PluginKindName,
  crName: string,
  appName: string,
): Record<string, string> {
  return {
    "app.kubernetes.io/name": appName,
    ...selectorLabels(kind, crName),
    "app.kubernetes.io/component": "plugin",
  };
}

/** The labels of Patchbay's own Pods (config/manager/manager.yaml): plugin NetworkPolicies admit these. */
export const MANAGER_POD_LABELS: Readonly<Record<string, string>> = Object.freeze({
  "app.kubernetes.io/name": "patchbay",
  "app.kubernetes.io/component": "controller-manager",
});
