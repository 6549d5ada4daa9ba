/** `patchbay local`: the data plane with plugins as child processes, no cluster. */
export { runLocal } from "./run-local.ts";
export type { LocalOptions, LocalRun } from "./run-local.ts";
export { runProcessPlugin } from "./process-plugins.ts";
export type { ProcessPlugin, RunningProcessPlugin } from "./process-plugins.ts";
