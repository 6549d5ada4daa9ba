/**
 * Sidecar plugins live in Patchbay's own Deployment. Its containers list is changed with JSON patches
 * that `test` the container's name at the index they touch, so a concurrent change to the list makes
 * the patch fail (and the reconcile retry) instead of removing or overwriting the wrong container.
 * Changing the Pod template restarts Patchbay's Pods: that is inherent to sidecars.
 */
import type { V1Container } from "@kubernetes/client-node";
import { matchesDesired } from "./match.ts";

export type JsonPatchOperation =
  | { op: "test"; path: string; value: unknown }
  | { op: "add" | "replace"; path: string; value: unknown }
  | { op: "remove"; path: string };

const CONTAINERS = "/spec/template/spec/containers";

/** Adds the container, or replaces a different one of the same name; [] when it is already there. */
export function upsertContainerPatch(
  current: readonly V1Container[],
  desired: V1Container,
): JsonPatchOperation[] {
  const index = current.findIndex((container) => container.name === desired.name);
  if (index < 0) return [{ op: "add", path: `${CONTAINERS}/-`, value: desired }];
  if (matchesDesired(current[index], desired)) return [];
  return [
    { op: "test", path: `${CONTAINERS}/${index}/name`, value: desired.name },
    { op: "replace", path: `${CONTAINERS}/${index}`, value: desired },
  ];
}

/** Removes the named container; [] when it is not there. */
export function removeContainerPatch(current: readonly V1Container[], name: string): JsonPatchOperation[] {
  const index = current.findIndex((container) => container.name === name);
  if (index < 0) return [];
  return [
    { op: "test", path: `${CONTAINERS}/${index}/name`, value: name },
    { op: "remove", path: `${CONTAINERS}/${index}` },
  ];
}
