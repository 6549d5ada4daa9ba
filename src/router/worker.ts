/**
 * One notifier's delivery: a queue bounded by count and by bytes (full → the oldest is dropped), one
 * event in flight at a time so order is kept, a token bucket, a per-attempt timeout, and retries with exponential backoff
 * and jitter that honour Retry-After. Every event it receives ends in exactly one counter, and
 *   received = delivered + failed + dropped + queued + inFlight
 * holds after every synchronous step.
 */
import type {
  NotifierDelivery,
  NotifierFilter,
  NotifierSources,
  ResolvedDelivery,
} from "../api/v1alpha1/index.ts";
import { deliveryDefaults } from "../api/v1alpha1/index.ts";
import type { CloudEvent } from "../events/cloudevent.ts";
import { attemptDelivery, type DeliveryOutcome, type NotifierSink } from "../notifiers/index.ts";
import type { Logger } from "../observability/logger.ts";
import type { HeldEvent, MemoryLedger } from "./memory-ledger.ts";
import type { DropReason, RouterMetrics } from "./metrics.ts";
import { BoundedQueue, type Eviction } from "./ring-queue.ts";
import { compileFilter, compileSources, type EventFilter, type SourceMatcher } from "./selection.ts";
import { TokenBucket } from "./token-bucket.ts";

/** A notifier as the router sees it: its selection, its delivery settings and the sink that sends. */
export interface NotifierRoute {
  name: string;
  /** The Notifier's type, for default rates and logs, e.g. "slack". */
  type?: string;
  sources?: NotifierSources;
  filter?: NotifierFilter;
  delivery?: NotifierDelivery;
  sink: NotifierSink;
}

export interface NotifierStats {
  received: number;
  delivered: number;
  failed: number;
  dropped: number;
  droppedByReason: Record<DropReason, number>;
  queued: number;
  /** Estimated size of the queued events (not counting the one in flight). */
  queuedBytes: number;
  /** 1 while an event is being sent or waits between retries, else 0. */
  inFlight: number;
  retries: number;
}

/** A server may ask for a long pause; beyond an hour the queue would only fill, so the wait is capped. */
const MAX_RETRY_AFTER_MS = 3_600_000;
/** At most one warning per notifier per interval; the rest are counted into the next one. */
const WARN_INTERVAL_MS = 10_000;

interface Compiled {
  sources: SourceMatcher;
  filter: EventFilter | undefined;
  settings: ResolvedDelivery;
}

/** Compiles a route's selection; throws a SelectionError for an invalid pattern or selector. */
export function compileRoute(route: NotifierRoute): Compiled {
  return {
    sources: compileSources(route.sources),
    filter: compileFilter(route.filter),
    settings: deliveryDefaults(route.type ?? route.sink.type, route.delivery),
  };
}

export class NotifierWorker {
  readonly name: string;
  matchesSource: SourceMatcher;
  filter: EventFilter | undefined;
  #type: string;
  #sink: NotifierSink;
  #settings: ResolvedDelivery;
  #bucket: TokenBucket;
  readonly #queue: BoundedQueue<HeldEvent>;
  readonly #ledger: MemoryLedger;
  #queueBytes: number;
  #inFlight: HeldEvent | undefined;
  #received = 0;
  #delivered = 0;
  #failed = 0;
  #retries = 0;
  readonly #dropped: Record<DropReason, number> = {
    overflow: 0,
    "overflow-bytes": 0,
    removed: 0,
    shutdown: 0,
  };
  #stopped = false;
  #wake: (() => void) | undefined;
  #cancelSleep: (() => void) | undefined;
  #attempt: AbortController | undefined;
  #idleWaiters: (() => void)[] = [];
  #lastWarn = 0;
  #suppressedWarnings = 0;
  readonly #log: Logger;
  readonly #metrics: {
    delivered: { inc(): void };
    failed: { inc(): void };
    retries: { inc(): void };
    duration: { observe(value: number): void };
    dropped: Record<DropReason, { inc(value?: number): void }>;
  };

  constructor(
    route: NotifierRoute,
    compiled: Compiled,
    queue: { metrics: RouterMetrics; ledger: MemoryLedger; maxBytes: number },
    log: Logger,
  ) {
    const { metrics, ledger } = queue;
    this.name = route.name;
    this.#ledger = ledger;
    this.#queueBytes = queue.maxBytes;
    this.#queue = new BoundedQueue<HeldEvent>(this.#bounds(compiled.settings), (held, why) =>
      this.#evicted(held, why),
    );
    this.#type = route.type ?? route.sink.type;
    this.#sink = route.sink;
    this.matchesSource = compiled.sources;
    this.filter = compiled.filter;
    this.#settings = compiled.settings;
    this.#bucket = new TokenBucket(compiled.settings.ratePerSecond, compiled.settings.burst, Date.now());
    this.#log = log;
    const notifier = route.name;
    this.#metrics = {
      delivered: metrics.delivered.labels(notifier),
      failed: metrics.failed.labels(notifier),
      retries: metrics.retries.labels(notifier),
      duration: metrics.duration.labels(notifier),
      dropped: {
        overflow: metrics.dropped.labels(notifier, "overflow"),
        "overflow-bytes": metrics.dropped.labels(notifier, "overflow-bytes"),
        removed: metrics.dropped.labels(notifier, "removed"),
        shutdown: metrics.dropped.labels(notifier, "shutdown"),
      },
    };
  }

  start(): void {
    this.#run().catch((error: unknown) => {
      // Unreachable by design; if it happens, say so rather than lose the queue silently.
      this.#log.error("delivery loop crashed", { notifier: this.name, error: (error as Error).stack });
    });
  }

  /** Applies a changed route in place; queued events stay. A smaller queue drops its oldest overflow. */
  configure(route: NotifierRoute, compiled: Compiled, maxBytes = this.#queueBytes): void {
    const before = this.#settings;
    this.#type = route.type ?? route.sink.type;
    this.#sink = route.sink;
    this.matchesSource = compiled.sources;
    this.filter = compiled.filter;
    this.#settings = compiled.settings;
    if (
      before.ratePerSecond !== compiled.settings.ratePerSecond ||
      before.burst !== compiled.settings.burst
    ) {
      this.#bucket = new TokenBucket(compiled.settings.ratePerSecond, compiled.settings.burst, Date.now());
    }
    this.#queueBytes = maxBytes;
    this.#queue.setBounds(this.#bounds(compiled.settings));
  }

  /** Queues an event (the router has selected and filtered it, and counted this worker as a holder). */
  enqueue(held: HeldEvent): void {
    this.#received++;
    this.#queue.push(held);
    const wake = this.#wake;
    if (wake !== undefined) {
      this.#wake = undefined;
      wake();
    }
  }

  /** Ends delivery: what is queued or in flight is counted dropped with this reason. */
  stop(reason: Exclude<DropReason, Eviction>): void {
    if (this.#stopped) return;
    this.#stopped = true;
    const queued = this.#queue.clear((held) => this.#ledger.release(held));
    if (queued > 0) this.#drop(reason, queued);
    if (this.#inFlight !== undefined) {
      this.#ledger.release(this.#inFlight);
      this.#inFlight = undefined;
      this.#drop(reason, 1);
    }
    if (queued > 0 && reason === "shutdown") {
      this.#log.warn("drain deadline passed: dropped undelivered events", {
        notifier: this.name,
        count: queued,
      });
    }
    this.#attempt?.abort(new Error(`notifier ${this.name} ${reason}`));
    this.#cancelSleep?.();
    this.#wake?.();
    this.#notifyIdle();
  }

  /** Resolves once nothing is queued or in flight (or the worker is stopped). */
  whenIdle(): Promise<void> {
    if (this.#stopped || (this.#queue.length === 0 && this.#inFlight === undefined)) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  get queueDepth(): number {
    return this.#queue.length;
  }

  get queuedBytes(): number {
    return this.#queue.bytes;
  }

  get inFlight(): number {
    return this.#inFlight === undefined ? 0 : 1;
  }

  stats(): NotifierStats {
    const droppedByReason = { ...this.#dropped };
    const { overflow, removed, shutdown } = droppedByReason;
    return {
      received: this.#received,
      delivered: this.#delivered,
      failed: this.#failed,
      dropped: overflow + droppedByReason["overflow-bytes"] + removed + shutdown,
      droppedByReason,
      queued: this.#queue.length,
      queuedBytes: this.#queue.bytes,
      inFlight: this.inFlight,
      retries: this.#retries,
    };
  }

  async #run(): Promise<void> {
    for (;;) {
      if (this.#stopped) return;
      const held = this.#queue.shift();
      if (held === undefined) {
        this.#notifyIdle();
        await new Promise<void>((resolve) => (this.#wake = resolve));
        continue;
      }
      this.#inFlight = held;
      const event = held.event;
      const outcome = await this.#deliver(event);
      // stop() has already counted and released the in-flight event.
      if (this.#stopped) return;
      this.#inFlight = undefined;
      this.#ledger.release(held);
      if (outcome.kind === "delivered") {
        this.#delivered++;
        this.#metrics.delivered.inc();
      } else {
        this.#failed++;
        this.#metrics.failed.inc();
        this.#warn(
          outcome.kind === "permanent" ? "delivery failed permanently" : "delivery failed after retries",
          {
            reason: outcome.reason,
            eventSource: event.source,
            eventId: event.id,
          },
        );
      }
    }
  }

  async #deliver(event: CloudEvent): Promise<DeliveryOutcome> {
    for (let attempt = 0; ; attempt++) {
      if (this.#bucket.take(Date.now()) > 0) await this.#waitForToken();
      if (this.#stopped) return STOPPED;
      const outcome = await this.#attemptOnce(event);
      if (outcome.kind !== "retry" || this.#stopped) return outcome;
      const { maxRetries, initialBackoffMs, maxBackoffMs } = this.#settings;
      if (attempt >= maxRetries) return outcome;
      this.#retries++;
      this.#metrics.retries.inc();
      const delay =
        outcome.retryAfterMs !== undefined
          ? Math.min(outcome.retryAfterMs, MAX_RETRY_AFTER_MS)
          : jitter(Math.min(maxBackoffMs, initialBackoffMs * 2 ** attempt));
      await this.#sleepUntil(Date.now() + delay);
      if (this.#stopped) return STOPPED;
    }
  }

  #attemptOnce(event: CloudEvent): Promise<DeliveryOutcome> {
    const controller = new AbortController();
    this.#attempt = controller;
    const timeoutMs = Math.round(this.#settings.timeoutSeconds * 1000);
    const started = performance.now();
    return attemptDelivery(this.#sink, event, timeoutMs, controller).then((outcome) => {
      if (this.#attempt === controller) this.#attempt = undefined;
      this.#metrics.duration.observe((performance.now() - started) / 1000);
      return outcome;
    });
  }

  async #waitForToken(): Promise<void> {
    for (;;) {
      if (this.#stopped) return;
      const wait = this.#bucket.take(Date.now());
      if (wait === 0) return;
      await this.#sleep(wait);
    }
  }

  /** Sleeps until the wall clock reaches `target`, never waking early (timers may fire a little early). */
  async #sleepUntil(target: number): Promise<void> {
    for (;;) {
      const remaining = target - Date.now();
      if (remaining <= 0 || this.#stopped) return;
      await this.#sleep(remaining);
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#cancelSleep = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#cancelSleep = done;
    });
  }

  #bounds(settings: ResolvedDelivery): { maxItems: number; maxBytes: number } {
    return { maxItems: settings.queueSize, maxBytes: this.#queueBytes };
  }

  #evicted(held: HeldEvent, why: Eviction): void {
    this.#ledger.release(held);
    this.#drop(why, 1);
    if (why === "overflow") {
      this.#warn("queue full: dropped the oldest event", { queueSize: this.#settings.queueSize });
    } else {
      this.#warn("queue bytes full: dropped the oldest event", { queueBytes: this.#queueBytes });
    }
  }

  #drop(reason: DropReason, count: number): void {
    this.#dropped[reason] += count;
    this.#metrics.dropped[reason].inc(count);
  }

  #notifyIdle(): void {
    if (this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #warn(message: string, meta: Record<string, unknown>): void {
    const now = Date.now();
    if (now - this.#lastWarn < WARN_INTERVAL_MS) {
      this.#suppressedWarnings++;
      return;
    }
    this.#lastWarn = now;
    const suppressed = this.#suppressedWarnings;
    this.#suppressedWarnings = 0;
    this.#log.warn(message, {
      notifier: this.name,
      type: this.#type,
      ...meta,
      suppressedSinceLast: suppressed,
    });
  }
}

const STOPPED: DeliveryOutcome = Object.freeze({ kind: "permanent", reason: "stopped" });

/** Uniform in [ceiling/2, ceiling]: spreads retries of many notifiers without ever retrying at once. */
function jitter(ceiling: number): number {
  return ceiling / 2 + (Math.random() * ceiling) / 2;
}
