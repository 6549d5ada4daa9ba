/**
 * Leader election on a coordination.k8s.io/v1 Lease with client-go's algorithm:
 *  - a candidate acquires the lease when it is absent, released (no holder), ours, or expired —
 *    expiry judged by when WE last saw the record change (observedTime) plus its
 *    leaseDurationSeconds, so clock skew between replicas does not matter;
 *  - the leader renews every retryPeriod and steps down if no renew succeeded within renewDeadline;
 *  - writes are optimistic (resourceVersion): a 409 means another candidate won the race;
 *  - leaseTransitions counts changes of holder; on cancellation the leader releases the lease
 *    (no holder, 1 s duration) so the next candidate takes over at once.
 */
import {
  CoordinationV1Api,
  V1MicroTime,
  type KubeConfig,
  type V1Lease,
  type V1LeaseSpec,
} from "@kubernetes/client-node";
import { randomUUID } from "node:crypto";
import type { Registry } from "prom-client";
import type { Logger } from "../observability/logger.ts";
import { leaderElectionMetrics, type LeaderElectionMetrics } from "./metrics.ts";

/**
 * A candidate identity unique among every process that may contend for the Lease: `base` (the Pod name,
 * else the hostname) plus a random suffix, as client-go does. Two processes on one host share a hostname,
 * and with the bare hostname both would read the Lease as their own and both lead.
 */
export function uniqueIdentity(base: string): string {
  return `${base}_${randomUUID()}`;
}

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
  /** Where leader_election_master_status goes. */
  registry?: Registry;
}

/** client-go's JitterFactor for the acquire loop. */
const JITTER = 1.2;

function statusCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}

function errorText(error: unknown): string {
  const code = statusCode(error);
  const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
  return code ? `HTTP ${code}: ${message}` : (message ?? "");
}

/** Fields that, when changed, mean the lease record moved (restarting our expiry clock). */
function fingerprint(spec: V1LeaseSpec | undefined): string {
  return JSON.stringify([
    spec?.holderIdentity ?? "",
    spec?.leaseDurationSeconds ?? 0,
    spec?.renewTime ? String(spec.renewTime) : "",
    spec?.acquireTime ? String(spec.acquireTime) : "",
    spec?.leaseTransitions ?? 0,
  ]);
}

export class LeaderElector {
  readonly identity: string;
  readonly #api: CoordinationV1Api;
  readonly #namespace: string;
  readonly #name: string;
  readonly #leaseDurationMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  readonly #releaseOnCancel: boolean;
  readonly #log: Logger;
  readonly #metrics: LeaderElectionMetrics;
  /** The lease as last read or written by us. */
  #lease: V1Lease | undefined;
  #observedFingerprint = "";
  /** When (our clock, ms) we last saw the lease record change. */
  #observedAt = 0;
  #leader = false;
  #reportedLeader: string | undefined;

  constructor(opts: LeaderElectorOptions) {
    this.identity = opts.identity;
    this.#api = opts.kubeConfig.makeApiClient(CoordinationV1Api);
    this.#namespace = opts.namespace;
    this.#name = opts.name;
    this.#leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.#renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.#retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    this.#releaseOnCancel = opts.releaseOnCancel ?? true;
    if (this.#leaseDurationMs <= this.#renewDeadlineMs) {
      throw new Error("leaseDurationMs must be greater than renewDeadlineMs");
    }
    if (this.#renewDeadlineMs <= JITTER * this.#retryPeriodMs) {
      throw new Error("renewDeadlineMs must be greater than retryPeriodMs × 1.2");
    }
    this.#log = opts.log.child({ lease: `${opts.namespace}/${opts.name}`, identity: opts.identity });
    this.#metrics = leaderElectionMetrics(opts.registry);
    this.#metrics.masterStatus.set({ name: this.#name }, 0);
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  /** The holder we last observed ("" when released or unknown). */
  get observedLeader(): string {
    return this.#lease?.spec?.holderIdentity ?? "";
  }

  /**
   * Campaigns until `signal` aborts: acquires the lease, leads while renewing it, and after losing
   * it campaigns again. Resolves after `signal` aborts (and the lease is released if configured).
   */
  async run(callbacks: LeaderCallbacks, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (!(await this.#acquire(callbacks, signal))) break;
      const leading = new AbortController();
      this.#setLeader(true);
      this.#log.info("became leader");
      try {
        callbacks.onStartedLeading(leading.signal);
      } catch (error) {
        this.#log.error("onStartedLeading threw", { error: errorText(error) });
      }
      await this.#renewWhileLeading(callbacks, signal);
      this.#setLeader(false);
      leading.abort();
      if (signal.aborted && this.#releaseOnCancel) await this.#release();
      this.#log.info(signal.aborted ? "stopped leading: cancelled" : "stopped leading: lost the lease");
      try {
        callbacks.onStoppedLeading();
      } catch (error) {
        this.#log.error("onStoppedLeading threw", { error: errorText(error) });
      }
    }
  }

  /** Retries every retryPeriod (jittered) until the lease is ours; false if cancelled first. */
  async #acquire(callbacks: LeaderCallbacks, signal: AbortSignal): Promise<boolean> {
    this.#log.debug("attempting to acquire the lease");
    while (!signal.aborted) {
      if (await this.#tryAcquireOrRenew(callbacks)) return true;
      await sleep(this.#retryPeriodMs * (1 + Math.random() * (JITTER - 1)), signal);
    }
    return false;
  }

  /** Renews every retryPeriod; returns when a renew has not succeeded within renewDeadline, or on cancel. */
  async #renewWhileLeading(callbacks: LeaderCallbacks, signal: AbortSignal): Promise<void> {
    let lastRenew = performance.now();
    while (!signal.aborted) {
      await sleep(this.#retryPeriodMs, signal);
      if (signal.aborted) return;
      const remaining = this.#renewDeadlineMs - (performance.now() - lastRenew);
      const renewed = remaining > 0 && (await withDeadline(this.#tryAcquireOrRenew(callbacks), remaining));
      if (renewed) {
        lastRenew = performance.now();
      } else if (performance.now() - lastRenew >= this.#renewDeadlineMs) {
        this.#log.warn("failed to renew the lease within the renew deadline", {
          renewDeadlineMs: this.#renewDeadlineMs,
        });
        return;
      }
    }
  }

  async #tryAcquireOrRenew(callbacks: LeaderCallbacks): Promise<boolean> {
    const now = new Date();
    const durationSeconds = Math.max(1, Math.ceil(this.#leaseDurationMs / 1000));
    let current: V1Lease;
    try {
      current = await this.#api.readNamespacedLease({ name: this.#name, namespace: this.#namespace });
    } catch (error) {
      if (statusCode(error) !== 404) {
        this.#log.warn("cannot read the lease", { error: errorText(error) });
        return false;
      }
      return this.#write(callbacks, "create", {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: this.#name, namespace: this.#namespace },
        spec: {
          holderIdentity: this.identity,
          leaseDurationSeconds: durationSeconds,
          acquireTime: new V1MicroTime(now.getTime()),
          renewTime: new V1MicroTime(now.getTime()),
          leaseTransitions: 0,
        },
      });
    }
    this.#observe(current, callbacks);
    const spec = current.spec ?? {};
    const holder = spec.holderIdentity ?? "";
    const held = holder !== "" && holder !== this.identity;
    const recordDurationMs = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (held && this.#observedAt + recordDurationMs > performance.now()) return false;
    const ours = holder === this.identity;
    return this.#write(callbacks, "replace", {
      ...current,
      spec: {
        ...spec,
        holderIdentity: this.identity,
        leaseDurationSeconds: durationSeconds,
        renewTime: new V1MicroTime(now.getTime()),
        acquireTime: ours && spec.acquireTime ? spec.acquireTime : new V1MicroTime(now.getTime()),
        leaseTransitions: ours ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
      },
    });
  }

  async #write(callbacks: LeaderCallbacks, verb: "create" | "replace", body: V1Lease): Promise<boolean> {
    try {
      const written =
        verb === "create"
          ? await this.#api.createNamespacedLease({ namespace: this.#namespace, body })
          : await this.#api.replaceNamespacedLease({ name: this.#name, namespace: this.#namespace, body });
      this.#observe(written, callbacks);
      return true;
    } catch (error) {
      const code = statusCode(error);
      if (code === 409) this.#log.debug("lost the race for the lease", { verb });
      else this.#log.warn(`cannot ${verb} the lease`, { error: errorText(error) });
      return false;
    }
  }

  #observe(lease: V1Lease, callbacks: LeaderCallbacks): void {
    this.#lease = lease;
    const print = fingerprint(lease.spec);
    if (print !== this.#observedFingerprint) {
      this.#observedFingerprint = print;
      this.#observedAt = performance.now();
    }
    const holder = lease.spec?.holderIdentity ?? "";
    if (holder && holder !== this.#reportedLeader) {
      this.#reportedLeader = holder;
      this.#log.info("new leader observed", { leader: holder });
      try {
        callbacks.onNewLeader?.(holder);
      } catch (error) {
        this.#log.error("onNewLeader threw", { error: errorText(error) });
      }
    }
  }

  /** Clears the holder so the next candidate need not wait for the lease to expire. */
  async #release(): Promise<void> {
    const lease = this.#lease;
    if (!lease || lease.spec?.holderIdentity !== this.identity) return;
    const now = new V1MicroTime(Date.now());
    try {
      this.#lease = await this.#api.replaceNamespacedLease({
        name: this.#name,
        namespace: this.#namespace,
        body: {
          ...lease,
          spec: {
            ...lease.spec,
            holderIdentity: "",
            leaseDurationSeconds: 1,
            renewTime: now,
            acquireTime: now,
          },
        },
      });
      this.#log.info("released the lease");
    } catch (error) {
      this.#log.warn("cannot release the lease", { error: errorText(error) });
    }
  }

  #setLeader(leading: boolean): void {
    this.#leader = leading;
    this.#metrics.masterStatus.set({ name: this.#name }, leading ? 1 : 0);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** The promise's value, or false if it has not settled within `ms` (the request is abandoned). */
function withDeadline(promise: Promise<boolean>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      () => {
        clearTimeout(timer);
        resolve(false);
      },
    );
  });
}
