export { PluginProcess, DEFAULT_PROCESS_TIMINGS } from "./process.ts";
export type { ProcessSpec, ProcessTimings, ProcessEvents } from "./process.ts";
