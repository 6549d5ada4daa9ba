/**
 * Generic controller machinery, modelled on controller-runtime and client-go: work queue with
 * rate limiting, informers that survive dropped watches, controllers, a manager with leader
 * election, Knative-style conditions and an event recorder. Knows nothing of Patchbay's resources.
 */
export { keyFromString, keyOf, keyToString, type ObjectKey } from "./keys.ts";
export {
  BucketRateLimiter,
  defaultControllerRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  type DefaultRateLimiterOptions,
  type RateLimiter,
} from "./rate-limiter.ts";
export { WorkQueue, type WorkQueueOptions } from "./work-queue.ts";
export { ResourceInformer, type ResourceInformerEvents, type ResourceInformerOptions } from "./informer.ts";
export {
  Controller,
  specOrMetadataChanged,
  type ControllerOptions,
  type Reconciler,
  type ReconcileResult,
  type WatchOptions,
} from "./controller.ts";
export { Manager, type ManagerOptions, type Runnable } from "./manager.ts";
export {
  LeaderElector,
  uniqueIdentity,
  type LeaderCallbacks,
  type LeaderElectionOptions,
  type LeaderElectorOptions,
} from "./leader-election.ts";
export { reuseConnections } from "./kube-connections.ts";
export { ConditionSet, type ConditionManager, type ConditionSetOptions } from "./conditions.ts";
export { EventRecorder, type EventRecorderOptions, type EventType } from "./event-recorder.ts";
