/** Leader election on a coordination.k8s.io/v1 Lease, with client-go's algorithm. */
import type { KubeConfig } from "@kubernetes/client-node";
import type { Registry } from "prom-client";
import type { Logger } from "../observability/logger.ts";

export interface LeaderElectionOptions {
  namespace: string;
  /** The Lease's name. */
  name: string;
  /** This candidate's identity, unique among replicas (e.g. the pod name). */
  identity: string;
  /** How long a lease is valid without renewal; others wait this long to take over (15 000). */
  leaseDurationMs?: number;
  /** The leader steps down if it cannot renew within this long (10 000). */
  renewDeadlineMs?: number;
  /** Interval between acquire/renew attempts (2 000). */
  retryPeriodMs?: number;
  /** On cancellation, clear the lease so another candidate takes over at once (true). */
  releaseOnCancel?: boolean;
}

export interface LeaderCallbacks {
  /** Called when this candidate becomes leader; `signal` aborts when leadership ends. */
  onStartedLeading(signal: AbortSignal): void;
  /** Called when leadership ends (lost, or run() cancelled). */
  onStoppedLeading(): void;
  /** Called when the observed leader changes (including to ourselves). */
  onNewLeader?(identity: string): void;
}

export interface LeaderElectorOptions extends LeaderElectionOptions {
  kubeConfig: KubeConfig;
  log: Logger;
  registry?: Registry;
}

export class LeaderElector {
  constructor(opts: LeaderElectorOptions) {
    void opts;
  }

  get isLeader(): boolean {
    return false;
  }

  /**
   * Campaigns until `signal` aborts: acquires the lease, leads while renewing it, and on losing it
   * campaigns again. Resolves after `signal` aborts (and the lease is released if configured).
   */
  async run(callbacks: LeaderCallbacks, signal: AbortSignal): Promise<void> {
    void callbacks;
    void signal;
    throw new Error("not implemented yet");
  }
}
