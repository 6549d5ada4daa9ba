export { DataPlane } from "./data-plane.ts";
export type { DataPlaneOptions, NotifierProblem } from "./data-plane.ts";
export { notReadyReason, type DeclaredExecutor } from "./directories.ts";
