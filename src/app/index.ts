export { DataPlane } from "./data-plane.ts";
export type { DataPlaneOptions, NotifierProblem } from "./data-plane.ts";
export { DEFAULT_LIMITS, LimitError, limitsFromEnv, parseByteSize, parseCount } from "./limits.ts";
export type { DataPlaneLimits } from "./limits.ts";
export { notReadyReason, type DeclaredExecutor } from "./directories.ts";
export { clusterNameOf } from "./cluster-name.ts";
