/** The router: dedup, selection, filtering and per-notifier delivery with retries, pacing and accounting. */
export {
  DEFAULT_MEMORY_BUDGET_BYTES,
  DEFAULT_NOTIFIER_QUEUE_BYTES,
  Router,
  RouterConfigError,
} from "./router.ts";
export type { MemoryUse } from "./memory-ledger.ts";
export { estimateEventBytes } from "./event-size.ts";
export type { PublishResult, RouterOptions, RouterStats, SourceLabels } from "./router.ts";
export type { NotifierRoute, NotifierStats } from "./worker.ts";
export type { DedupOptions } from "./dedup.ts";
export type { DropReason } from "./metrics.ts";
export { DROP_REASONS } from "./metrics.ts";
export { compileFilter, compileSelector, compileSources, SelectionError } from "./selection.ts";
export { routeFor } from "./route-for.ts";
