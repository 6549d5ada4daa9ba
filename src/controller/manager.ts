/**
 * The manager runs informers, controllers and other runnables together, like controller-runtime's
 * manager: informers run on every replica (caches stay warm, readiness means something, a new
 * leader starts at once); controllers and other runnables run only while this replica leads when
 * leader election is configured, and stop when leadership is lost — unless they say they need no
 * leader election, in which case they run on every replica for the manager's whole life.
 */
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import type { Registry } from "prom-client";
import type { Logger } from "../observability/logger.ts";
import type { ResourceInformer } from "./informer.ts";
import { LeaderElector, type LeaderElectionOptions } from "./leader-election.ts";

/** Anything the manager runs: start() resolves once `signal` has aborted and it has stopped. */
export interface Runnable {
  start(signal: AbortSignal): Promise<void>;
  /** Informers the manager starts on every replica and reports in readiness(). */
  readonly informers?: ResourceInformer<KubernetesObject>[];
  /**
   * false: run on every replica, leader or not, from start() until the manager stops (like
   * controller-runtime's LeaderElectionRunnable). Default true: run only while leading.
   */
  readonly needLeaderElection?: boolean;
}

export interface ManagerOptions {
  kubeConfig: KubeConfig;
  registry: Registry;
  log: Logger;
  leaderElection?: LeaderElectionOptions;
}

export class Manager {
  readonly #kubeConfig: KubeConfig;
  readonly #registry: Registry;
  readonly #log: Logger;
  readonly #leaderElection: LeaderElectionOptions | undefined;
  readonly #runnables: Runnable[] = [];
  readonly #informers = new Set<ResourceInformer<KubernetesObject>>();
  #started = false;
  #leading = false;
  #elector: LeaderElector | undefined;

  constructor(opts: ManagerOptions) {
    this.#kubeConfig = opts.kubeConfig;
    this.#registry = opts.registry;
    this.#log = opts.log;
    this.#leaderElection = opts.leaderElection;
  }

  /** Adds a controller or any runnable; its informers are started on every replica. Call before start(). */
  add(runnable: Runnable): this {
    if (this.#started) throw new Error("cannot add a runnable to a started manager");
    this.#runnables.push(runnable);
    for (const informer of runnable.informers ?? []) this.#informers.add(informer);
    return this;
  }

  /** Adds an informer on its own (e.g. one only read from, never reconciled on). */
  addInformer<T extends KubernetesObject>(informer: ResourceInformer<T>): this {
    this.#informers.add(informer as unknown as ResourceInformer<KubernetesObject>);
    return this;
  }

  /** True while this replica runs the controllers: always once started without leader election. */
  get isLeader(): boolean {
    return this.#leading;
  }

  /** undefined when ready; otherwise why not (not started, or which informers have not synced). */
  readiness(): string | undefined {
    if (!this.#started) return "manager not started";
    const pending = [...this.#informers]
      .filter((informer) => !informer.hasSynced)
      .map((informer) => informer.path);
    return pending.length ? `informers not synced: ${pending.join(", ")}` : undefined;
  }

  /** Runs until `signal` aborts; resolves once every runnable has stopped and the lease is released. */
  async start(signal: AbortSignal): Promise<void> {
    if (this.#started) throw new Error("manager already started");
    this.#started = true;
    for (const informer of this.#informers) void informer.start();
    const everywhere = this.#runAll(this.#runnables.filter(runsEverywhere), signal);
    try {
      if (this.#leaderElection) await this.#runWithLeaderElection(this.#leaderElection, signal);
      else {
        this.#leading = true;
        await Promise.all([this.#runAll(this.#leaderRunnables(), signal), aborted(signal)]);
      }
    } finally {
      this.#leading = false;
      await everywhere;
      await Promise.all([...this.#informers].map((informer) => informer.stop()));
      this.#log.info("manager stopped");
    }
  }

  async #runWithLeaderElection(options: LeaderElectionOptions, signal: AbortSignal): Promise<void> {
    this.#elector = new LeaderElector({
      ...options,
      kubeConfig: this.#kubeConfig,
      log: this.#log,
      registry: this.#registry,
    });
    // A term starts only after the previous term's runnables have all stopped.
    let term: Promise<void> = Promise.resolve();
    await this.#elector.run(
      {
        onStartedLeading: (leading) => {
          this.#leading = true;
          // Closed as soon as the term ends, before the Lease is released: no write may follow it.
          leading.addEventListener("abort", () => (this.#leading = false), { once: true });
          term = term.then(() => this.#runAll(this.#leaderRunnables(), leading));
        },
        onStoppedLeading: () => {
          this.#leading = false;
        },
      },
      signal,
    );
    await term;
  }

  #leaderRunnables(): Runnable[] {
    return this.#runnables.filter((runnable) => !runsEverywhere(runnable));
  }

  async #runAll(runnables: readonly Runnable[], signal: AbortSignal): Promise<void> {
    await Promise.all(
      runnables.map((runnable) =>
        runnable.start(signal).catch((error: unknown) => {
          this.#log.error("runnable failed", {
            error: error instanceof Error ? error.message : String(error),
          });
        }),
      ),
    );
  }
}

function runsEverywhere(runnable: Runnable): boolean {
  return runnable.needLeaderElection === false;
}

/** Resolves when `signal` aborts: the manager runs until told to stop, even with nothing to run. */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
