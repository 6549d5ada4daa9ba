/** What a plugin CR's spec alone says: whether it is valid, and whether it takes part in a cluster. */
import {
  runtimeMode,
  validateExecutorSpec,
  validateSourceSpec,
  type ExecutorPlugin,
} from "../api/v1alpha1/index.ts";
import type { PluginObject } from "./resources.ts";

export function specProblems(plugin: PluginObject): string[] {
  return plugin.kind === "ExecutorPlugin"
    ? validateExecutorSpec((plugin as ExecutorPlugin).spec)
    : validateSourceSpec(plugin.spec);
}

/**
 * Whether the plugin wants its name (and prefixes) served: valid, not suspended, not being deleted,
 * and in a runtime mode a cluster can run (`process` is for local runs only).
 */
export function isContender(plugin: PluginObject): boolean {
  return (
    !plugin.metadata.deletionTimestamp &&
    !plugin.spec?.suspend &&
    specProblems(plugin).length === 0 &&
    runtimeMode(plugin.spec.runtime) !== "process"
  );
}
