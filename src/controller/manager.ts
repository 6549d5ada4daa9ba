/**
 * The manager runs informers, controllers and other runnables together, like controller-runtime's
 * manager: informers run on every replica (so caches are warm and readiness is meaningful);
 * controllers and other runnables run only while this replica leads, when leader election is on.
 */
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import type { Registry } from "prom-client";
import type { Logger } from "../observability/logger.ts";
import type { ResourceInformer } from "./informer.ts";
import type { LeaderElectionOptions } from "./leader-election.ts";

/** Anything the manager runs: resolves once `signal` has aborted and it has stopped. */
export interface Runnable {
  start(signal: AbortSignal): Promise<void>;
  /** Informers the manager starts on every replica and reports in readiness(). */
  readonly informers?: ResourceInformer<KubernetesObject>[];
}

export interface ManagerOptions {
  kubeConfig: KubeConfig;
  registry: Registry;
  log: Logger;
  leaderElection?: LeaderElectionOptions;
}

export class Manager {
  constructor(opts: ManagerOptions) {
    void opts;
  }
  add(runnable: Runnable): this {
    void runnable;
    return this;
  }
  async start(signal: AbortSignal): Promise<void> {
    void signal;
    throw new Error("not implemented yet");
  }
  get isLeader(): boolean {
    return false;
  }
  /** undefined when ready; otherwise why not (e.g. which informers have not synced). */
  readiness(): string | undefined {
    return "not started";
  }
}
