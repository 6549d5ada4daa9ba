/**
 * The operator: reconcilers for SourcePlugin, ExecutorPlugin and Notifier, the pod / sidecar /
 * external runtime modes, status conditions, and `patchbay operator` itself.
 */
export { runOperator, startOperator, ingressTokens, LEASE_NAME, MANAGER_DEPLOYMENT } from "./operator.ts";
export type { OperatorOptions, RunningOperator } from "./operator.ts";
export {
  PluginReconciler,
  type PluginReconcilerOptions,
  type ManagerDeploymentRef,
} from "./plugin-reconciler.ts";
export { NotifierReconciler, type NotifierReconcilerOptions } from "./notifier-reconciler.ts";
export {
  DataPlaneSync,
  type DataPlaneSyncOptions,
  type NotifierVerdict,
  type PluginPlacement,
  type SyncedKind,
} from "./data-plane-sync.ts";
export {
  PluginTargets,
  type DerivedTarget,
  type PluginTargetsOptions,
  type TargetProblem,
} from "./plugin-targets.ts";
export { KubernetesSecretResolver, externalTlsCredentials } from "./secrets.ts";
export { Cluster, NotLeadingError } from "./cluster.ts";
export {
  podWorkload,
  sidecarContainer,
  ownerReference,
  DEFAULT_PLUGIN_PORT,
  DEFAULT_RESOURCES,
  type PodWorkload,
} from "./workloads.ts";
export { workloadName, FINALIZER, FIELD_MANAGER } from "./names.ts";
export { upsertContainerPatch, removeContainerPatch, type JsonPatchOperation } from "./sidecars.ts";
export { clusterClaims, lostClaims, type LostClaim } from "./conflicts.ts";
export {
  CONFIG_VALID,
  CONNECTED,
  PREFIX_CONFLICT,
  READY,
  WORKLOAD_AVAILABLE,
  markPluginConditions,
  executorConditions,
  sourceConditions,
  deploymentVerdict,
} from "./plugin-status.ts";
