/** What a plugin CR's spec alone says: whether it is valid, and whether it takes part in a cluster. */
import {
  runtimeMode,
  validateExecutorSpec,
  validateSourceSpec,
  type ExecutorPlugin,
} from "../api/v1alpha1/index.ts";
import type { PluginObject } from "./resources.ts";

// By object: an informer replaces a cached object on every change and never mutates one, so a verdict
// holds for the object's life. Every data-plane sync asks it of every plugin (ajv and CEL each time):
// with hundreds of plugins, recomputing it was most of a sync's cost.
const problemsByObject = new WeakMap<PluginObject, readonly string[]>();

export function specProblems(plugin: PluginObject): readonly string[] {
  let problems = problemsByObject.get(plugin);
  if (!problems) {
    problems =
      plugin.kind === "ExecutorPlugin"
        ? validateExecutorSpec((plugin as ExecutorPlugin).spec)
        : validateSourceSpec(plugin.spec);
    problemsByObject.set(plugin, problems);
  }
  return problems;
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
