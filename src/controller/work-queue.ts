/**
 * A rate-limited, delaying work queue with client-go's semantics:
 *  - a key added while it is already waiting is deduplicated;
 *  - a key being processed is not handed out again until `done(key)`; if it is added meanwhile it
 *    is marked dirty and queued again on `done`, so no key is ever processed twice at once;
 *  - `addRateLimited` waits max(per-key exponential backoff, global token bucket); `forget` resets
 *    the key's backoff.
 */
import type { Registry } from "prom-client";
import { workQueueMetrics, type InFlightWork, type WorkQueueMetrics } from "./metrics.ts";
import { defaultControllerRateLimiter, type RateLimiter } from "./rate-limiter.ts";

export interface WorkQueueOptions {
  /** The `name` label of the workqueue_* metrics. */
  name: string;
  registry?: Registry;
  /** Per-key backoff: first retry after baseDelayMs (5 ms), doubling up to maxDelayMs (1000 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Global token bucket over all rate-limited adds: qps (10) with burst (100). */
  qps?: number;
  burst?: number;
  /** Replaces the default limiter built from the four options above. */
  rateLimiter?: RateLimiter;
}

interface DelayedAdd {
  readyAt: number;
  timer: NodeJS.Timeout;
}

export class WorkQueue implements InFlightWork {
  readonly name: string;
  readonly #queue: string[] = [];
  /** Keys that need processing: waiting in #queue, or re-added while processing. */
  readonly #dirty = new Set<string>();
  /** Keys handed out by get() and not yet done(), with when processing started. */
  readonly #processing = new Map<string, number>();
  /** When each waiting key was added, for queue_duration. */
  readonly #addedAt = new Map<string, number>();
  readonly #delayed = new Map<string, DelayedAdd>();
  readonly #waiters: ((key: string | undefined) => void)[] = [];
  readonly #limiter: RateLimiter;
  readonly #metrics: WorkQueueMetrics;
  #shuttingDown = false;

  constructor(opts: WorkQueueOptions) {
    this.name = opts.name;
    this.#limiter = opts.rateLimiter ?? defaultControllerRateLimiter(opts);
    this.#metrics = workQueueMetrics(opts.registry);
    this.#metrics.liveQueues.add(this);
    this.#metrics.depth.set({ name: this.name }, 0);
  }

  /** Keys waiting to be handed out (not counting those being processed or delayed). */
  get length(): number {
    return this.#queue.length;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  add(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#metrics.adds.inc({ name: this.name });
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    this.#enqueue(key);
  }

  /** Adds `key` once `ms` have passed; of several pending delays for one key the earliest wins. */
  addAfter(key: string, ms: number): void {
    if (this.#shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const readyAt = performance.now() + ms;
    const pending = this.#delayed.get(key);
    if (pending && pending.readyAt <= readyAt) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, ms);
    this.#delayed.set(key, { readyAt, timer });
  }

  /** Adds `key` after its rate-limited delay; each call counts as one more failure of `key`. */
  addRateLimited(key: string): void {
    if (this.#shuttingDown) return;
    this.#metrics.retries.inc({ name: this.name });
    this.addAfter(key, this.#limiter.when(key));
  }

  /** Clears `key`'s failure history: call it when processing succeeded. */
  forget(key: string): void {
    this.#limiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.#limiter.numRequeues(key);
  }

  /** The next key to process, waiting for one; undefined once the queue is shut down and drained. */
  get(): Promise<string | undefined> {
    if (this.#queue.length > 0) return Promise.resolve(this.#take());
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Marks the end of processing `key`; if it was added meanwhile it is queued again now. */
  done(key: string): void {
    const startedAt = this.#processing.get(key);
    if (startedAt === undefined) return;
    this.#metrics.workDuration.observe({ name: this.name }, (performance.now() - startedAt) / 1000);
    this.#processing.delete(key);
    if (this.#dirty.has(key)) this.#enqueue(key);
  }

  /** Stops accepting keys, cancels delayed adds and releases every waiting get() with undefined. */
  shutDown(): void {
    this.#shuttingDown = true;
    for (const { timer } of this.#delayed.values()) clearTimeout(timer);
    this.#delayed.clear();
    for (const resolve of this.#waiters.splice(0)) resolve(undefined);
    this.#metrics.liveQueues.delete(this);
  }

  inFlightSeconds(): { total: number; longest: number } {
    const now = performance.now();
    let total = 0;
    let longest = 0;
    for (const startedAt of this.#processing.values()) {
      const seconds = (now - startedAt) / 1000;
      total += seconds;
      longest = Math.max(longest, seconds);
    }
    return { total, longest };
  }

  #enqueue(key: string): void {
    this.#addedAt.set(key, performance.now());
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter(this.#start(key));
      return;
    }
    this.#queue.push(key);
    this.#metrics.depth.set({ name: this.name }, this.#queue.length);
  }

  #take(): string {
    const key = this.#queue.shift() as string;
    this.#metrics.depth.set({ name: this.name }, this.#queue.length);
    return this.#start(key);
  }

  #start(key: string): string {
    const now = performance.now();
    const addedAt = this.#addedAt.get(key) ?? now;
    this.#addedAt.delete(key);
    this.#metrics.queueDuration.observe({ name: this.name }, (now - addedAt) / 1000);
    this.#processing.set(key, now);
    this.#dirty.delete(key);
    return key;
  }
}
