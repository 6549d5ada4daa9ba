/**
 * The in-memory bus: the embedded default, with the router's semantics of old. Dedup on (source, id)
 * within a bounded window, one bounded queue per subscription (full → the oldest is dropped), one
 * delivery at a time per subscription so order is kept, a retry waiting in place. Nothing survives the
 * process: `patchbay local` says so when it starts.
 *
 * "Stored" here means queued in this process. Every event a subscription selected ends in exactly one
 * of its counters: acked + deadLettered + dropped + queued + in flight.
 */
import type { Registry } from "prom-client";
import type { CloudEvent } from "../events/cloudevent.ts";
import { createLogger, type Logger } from "../observability/logger.ts";
import { DedupWindow, type DedupOptions } from "../router/dedup.ts";
import { RingQueue } from "../router/ring-queue.ts";
import {
  ACK,
  BusUnavailableError,
  emptySubscriptionStats,
  type BusStats,
  type DeadLetter,
  type DeliveryHandler,
  type DropReason,
  type EventBus,
  type PublishOptions,
  type PublishOutcome,
  type Settlement,
  type SubscriptionOptions,
  type SubscriptionStats,
} from "./event-bus.ts";
import { unlessAborted } from "./unless-aborted.ts";
import { busMetrics, forgetBus, type BusMetrics } from "./metrics.ts";

export interface MemoryBusOptions {
  dedup?: DedupOptions;
  /** Dead letters kept for inspection, oldest forgotten first (default 1,000). */
  maxDeadLetters?: number;
  /** Delay of the retry after a handler that threw (default 1 s). */
  failedHandlerRetryMs?: number;
  registry?: Registry;
  log?: Logger;
}

const DEFAULT_MAX_QUEUED = 1_000;
/** Bounds the last-id map if a caller publishes many source names nobody declared. */
const MAX_REMEMBERED_SOURCES = 10_000;

export class MemoryBus implements EventBus {
  readonly kind = "memory";
  readonly description = "in memory (lost when the process ends)";
  readonly #dedup: DedupWindow;
  readonly #lastIds = new Map<string, string>();
  readonly #subscriptions = new Map<string, MemorySubscription>();
  readonly #deadLetters: DeadLetter[] = [];
  readonly #maxDeadLetters: number;
  readonly #failedHandlerRetryMs: number;
  readonly #registry: Registry | undefined;
  readonly #metrics: BusMetrics | undefined;
  readonly #log: Logger;
  #closed = false;

  constructor(options: MemoryBusOptions = {}) {
    this.#dedup = new DedupWindow(options.dedup);
    this.#maxDeadLetters = options.maxDeadLetters ?? 1_000;
    this.#failedHandlerRetryMs = options.failedHandlerRetryMs ?? 1_000;
    this.#registry = options.registry;
    this.#metrics = options.registry ? busMetrics(options.registry, this) : undefined;
    this.#log = options.log ?? createLogger("bus");
  }

  async publish(event: CloudEvent, options: PublishOptions = {}): Promise<PublishOutcome> {
    const started = performance.now();
    if (this.#closed) {
      this.#metrics?.publishDuration.observe({ bus: this.kind, result: "unavailable" }, 0);
      throw new BusUnavailableError("the event bus is shutting down", 1);
    }
    const { derivedId } = options;
    // A derived event's id lives apart from every source's ids ("" is no source's name).
    const [dedupSource, dedupId] = derivedId === undefined ? [event.source, event.id] : ["", derivedId];
    let outcome: PublishOutcome = "duplicate";
    if (!this.#dedup.seen(dedupSource, dedupId, Date.now())) {
      outcome = "stored";
      if (derivedId === undefined) this.#rememberLastId(event);
      for (const subscription of this.#subscriptions.values()) subscription.offer(event);
    }
    this.#metrics?.publishDuration.observe(
      { bus: this.kind, result: outcome },
      (performance.now() - started) / 1000,
    );
    return outcome;
  }

  #rememberLastId(event: CloudEvent): void {
    if (!this.#lastIds.has(event.source) && this.#lastIds.size >= MAX_REMEMBERED_SOURCES)
      this.#lastIds.clear();
    this.#lastIds.set(event.source, event.id);
  }

  async lastIdFor(source: string): Promise<string | undefined> {
    return this.#lastIds.get(source);
  }

  async subscribe(
    notifier: string,
    handler: DeliveryHandler,
    options: SubscriptionOptions = {},
  ): Promise<void> {
    if (this.#closed) throw new BusUnavailableError("the event bus is shutting down", 1);
    const existing = this.#subscriptions.get(notifier);
    if (existing) {
      existing.configure(handler, options);
      return;
    }
    const subscription = new MemorySubscription(notifier, handler, options, {
      failedHandlerRetryMs: this.#failedHandlerRetryMs,
      deadLetter: (letter) => {
        this.#deadLetters.push(letter);
        if (this.#deadLetters.length > this.#maxDeadLetters) this.#deadLetters.shift();
      },
      log: this.#log,
    });
    this.#subscriptions.set(notifier, subscription);
    subscription.start();
  }

  async removeSubscription(notifier: string): Promise<void> {
    const subscription = this.#subscriptions.get(notifier);
    if (!subscription) return;
    this.#subscriptions.delete(notifier);
    subscription.stop("removed");
    await subscription.stopped;
  }

  async stats(): Promise<BusStats> {
    const subscriptions: Record<string, SubscriptionStats> = {};
    let storedMessages = 0;
    for (const [name, subscription] of this.#subscriptions) {
      const stats = subscription.stats();
      subscriptions[name] = stats;
      storedMessages += stats.pending + stats.ackPending;
    }
    return { storedMessages, storedBytes: undefined, subscriptions };
  }

  async deadLetters(options: { notifier?: string; limit?: number } = {}): Promise<DeadLetter[]> {
    const limit = options.limit ?? 100;
    const letters = this.#deadLetters.filter(
      (letter) => options.notifier === undefined || letter.notifier === options.notifier,
    );
    return letters.slice(0, limit);
  }

  /** Delivers what is queued for up to `drainMs`, then counts what is left as dropped (reason "shutdown"). */
  async close(drainMs = 0): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const subscriptions = [...this.#subscriptions.values()];
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, drainMs))));
    await Promise.race([Promise.all(subscriptions.map((subscription) => subscription.whenIdle())), deadline]);
    clearTimeout(timer);
    for (const subscription of subscriptions) subscription.stop("shutdown");
    await Promise.all(subscriptions.map((subscription) => subscription.stopped));
    if (this.#registry) forgetBus(this.#registry, this);
  }
}

interface Queued {
  event: CloudEvent;
  attempt: number;
}

interface SubscriptionDependencies {
  failedHandlerRetryMs: number;
  deadLetter(letter: DeadLetter): void;
  log: Logger;
}

class MemorySubscription {
  readonly #notifier: string;
  #handler: DeliveryHandler;
  #select: ((event: CloudEvent) => boolean) | undefined;
  #maxQueued: number;
  readonly #queue = new RingQueue<Queued>();
  #inFlight: Queued | undefined;
  readonly #stats = emptySubscriptionStats();
  readonly #dependencies: SubscriptionDependencies;
  readonly #abort = new AbortController();
  #stopping = false;
  #wake: (() => void) | undefined;
  #cancelSleep: (() => void) | undefined;
  #idleWaiters: (() => void)[] = [];
  #resolveStopped!: () => void;
  readonly stopped = new Promise<void>((resolve) => (this.#resolveStopped = resolve));

  constructor(
    notifier: string,
    handler: DeliveryHandler,
    options: SubscriptionOptions,
    dependencies: SubscriptionDependencies,
  ) {
    this.#notifier = notifier;
    this.#handler = handler;
    this.#select = options.select;
    this.#maxQueued = Math.max(1, options.maxQueued ?? DEFAULT_MAX_QUEUED);
    this.#dependencies = dependencies;
  }

  start(): void {
    this.#run().then(
      () => this.#resolveStopped(),
      (error: unknown) => {
        // Unreachable by design; if it happens, say so rather than lose the queue silently.
        this.#dependencies.log.error("delivery loop crashed", {
          notifier: this.#notifier,
          error: (error as Error).stack,
        });
        this.#resolveStopped();
      },
    );
  }

  configure(handler: DeliveryHandler, options: SubscriptionOptions): void {
    this.#handler = handler;
    this.#select = options.select;
    this.#maxQueued = Math.max(1, options.maxQueued ?? DEFAULT_MAX_QUEUED);
    while (this.#queue.length > this.#maxQueued) {
      this.#queue.shift();
      this.#stats.dropped.overflow++;
    }
  }

  offer(event: CloudEvent): void {
    if (this.#stopping) return;
    const select = this.#select;
    if (select !== undefined && !select(event)) return;
    if (this.#queue.length >= this.#maxQueued) {
      this.#queue.shift();
      this.#stats.dropped.overflow++;
    }
    this.#queue.push({ event, attempt: 1 });
    const wake = this.#wake;
    if (wake !== undefined) {
      this.#wake = undefined;
      wake();
    }
  }

  /** Ends delivery: what is queued or in flight is counted dropped with this reason. */
  stop(reason: Exclude<DropReason, "overflow">): void {
    if (this.#stopping) return;
    this.#stopping = true;
    const queued = this.#queue.clear();
    this.#stats.dropped[reason] += queued;
    if (this.#inFlight !== undefined) {
      this.#inFlight = undefined;
      this.#stats.dropped[reason]++;
    }
    if (queued > 0 && reason === "shutdown") {
      this.#dependencies.log.warn("drain deadline passed: dropped undelivered events", {
        notifier: this.#notifier,
        count: queued,
      });
    }
    this.#abort.abort(new Error(`notifier ${this.#notifier} ${reason}`));
    this.#cancelSleep?.();
    this.#wake?.();
    this.#notifyIdle();
  }

  whenIdle(): Promise<void> {
    if (this.#stopping || (this.#queue.length === 0 && this.#inFlight === undefined))
      return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  stats(): SubscriptionStats {
    return {
      ...this.#stats,
      dropped: { ...this.#stats.dropped },
      pending: this.#queue.length,
      ackPending: this.#inFlight === undefined ? 0 : 1,
    };
  }

  async #run(): Promise<void> {
    for (;;) {
      if (this.#stopping) return;
      const next = this.#queue.shift();
      if (next === undefined) {
        this.#notifyIdle();
        await new Promise<void>((resolve) => (this.#wake = resolve));
        continue;
      }
      this.#inFlight = next;
      // A retry stays in flight, in place: the events behind it wait, so the order is kept.
      for (;;) {
        const settlement = await this.#attempt(next);
        // stop() has already counted the in-flight event.
        if (this.#stopping) return;
        if (settlement.kind === "retry") {
          this.#stats.retried++;
          next.attempt++;
          await this.#sleep(settlement.delayMs);
          if (this.#stopping) return;
          continue;
        }
        if (settlement.kind === "ack") this.#stats.acked++;
        else {
          this.#stats.deadLettered++;
          this.#dependencies.deadLetter({
            notifier: this.#notifier,
            reason: settlement.reason,
            attempts: next.attempt,
            event: next.event,
            time: new Date(),
          });
        }
        break;
      }
      this.#inFlight = undefined;
    }
  }

  async #attempt(queued: Queued): Promise<Settlement> {
    try {
      // A handler that ignores the abort must not hold up stop(): its answer no longer counts anyway.
      const signal = this.#abort.signal;
      return await unlessAborted(
        this.#handler({ event: queued.event, attempt: queued.attempt, signal, working: () => {} }),
        signal,
        ACK,
      );
    } catch (error) {
      this.#dependencies.log.warn("delivery handler threw; retrying", {
        notifier: this.#notifier,
        error: (error as Error)?.message ?? String(error),
      });
      return { kind: "retry", delayMs: this.#dependencies.failedHandlerRetryMs };
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#cancelSleep = undefined;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.#cancelSleep = done;
    });
  }

  #notifyIdle(): void {
    if (this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
