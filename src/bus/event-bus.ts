/**
 * The event bus: what sits between the edges (ingress, source streams) and the notifiers. An event is
 * stored before it is acknowledged; each notifier is a durable subscription that settles every delivery
 * explicitly. Two implementations: in memory (the embedded default for `patchbay local`) and NATS
 * JetStream (stored in a replicated log, shared by every replica).
 *
 * The bus knows nothing of notifier platforms: a handler says how a delivery went (ack, retry after a
 * delay, dead letter) and the bus does the bookkeeping. retry-policy.ts maps a sink's DeliveryOutcome
 * to that answer, so both buses retry the same way.
 */
import type { CloudEvent } from "../events/cloudevent.ts";

/** "stored": the bus holds the event now. "duplicate": the same (source, id) is already held. */
export type PublishOutcome = "stored" | "duplicate";

/** How a delivery ended; exactly one per delivery, returned by the handler. */
export type Settlement =
  /** Done with (the platform accepted it, or the subscription does not want it). */
  | { kind: "ack" }
  /** Deliver it again, to this process or another one, no sooner than `delayMs` from now. */
  | { kind: "retry"; delayMs: number }
  /** Give up: keep it in the dead letters with the reason, and move on. */
  | { kind: "dead-letter"; reason: string };

export const ACK: Settlement = Object.freeze({ kind: "ack" });

export interface Delivery {
  readonly event: CloudEvent;
  /** 1 the first time this subscription gets the event, 2 on its first redelivery, … */
  readonly attempt: number;
  /** Aborted when the subscription is removed or the bus closes: the delivery will be made again later. */
  readonly signal: AbortSignal;
  /** Says the delivery is still going, so the bus does not hand it to another process meanwhile. */
  working(): void;
}

/** Resolves with the settlement; a rejection counts as a retry after the bus's default delay. */
export type DeliveryHandler = (delivery: Delivery) => Promise<Settlement>;

export interface SubscriptionOptions {
  /**
   * Whether the subscription wants an event at all (its sources and filter). The memory bus asks at
   * publish time and never queues what is refused; JetStream asks at delivery time and acks it unseen.
   */
  select?: (event: CloudEvent) => boolean;
  /**
   * Deliveries outstanding at once, over every process (JetStream's max_ack_pending); each process
   * handles one at a time. The default, 1, keeps the order: a retry holds back the events behind it,
   * as the router's queues always did. The memory bus is always one at a time.
   */
  maxInFlight?: number;
  /** How long one delivery may take before it is handed to another process (default 60 s). */
  ackWaitMs?: number;
  /** Memory bus only: events queued at most; when full the oldest is dropped (default 1,000). */
  maxQueued?: number;
  /**
   * JetStream only: this process handles up to maxInFlight deliveries at once, rather than one at a
   * time (for work whose order does not matter and which waits, such as the actions stage's commands).
   */
  parallel?: boolean;
}

export interface PublishOptions {
  /**
   * For an event Patchbay derived from a stored one (an Action's answer): its own dedup id, so a
   * redelivery of the stored event stores the derived one once. A derived event is kept apart from its
   * source's own events: lastIdFor never returns it.
   */
  derivedId?: string;
}

export type DropReason = "overflow" | "removed" | "shutdown";

export interface SubscriptionStats {
  /** Stored and not yet handed out (JetStream: the consumer's num_pending, over every replica). */
  pending: number;
  /** Handed out and not yet settled, retries waiting for their delay included (num_ack_pending). */
  ackPending: number;
  /** What this process settled: acked (delivered or not selected), retried, dead-lettered. */
  acked: number;
  skipped: number;
  retried: number;
  deadLettered: number;
  /** JetStream only: repeats of an event this process had already settled, acked again, not delivered. */
  alreadySettled: number;
  /** Memory bus only: events lost to a full queue, a removed subscription, or the drain deadline. */
  dropped: Record<DropReason, number>;
}

export interface BusStats {
  /** Events the bus holds (JetStream: the stream's messages and bytes; memory: queued copies). */
  storedMessages: number;
  storedBytes: number | undefined;
  subscriptions: Record<string, SubscriptionStats>;
}

export interface DeadLetter {
  notifier: string;
  reason: string;
  attempts: number;
  event: CloudEvent;
  /** When it was dead-lettered. */
  time: Date;
  /** JetStream: its sequence in the dead-letter stream, which a replay removes it by. */
  sequence?: number;
}

export interface EventBus {
  /** "memory" or "jetstream". */
  readonly kind: string;
  /** Where events are held, for people and logs; never includes credentials. */
  readonly description: string;
  /**
   * Stores the event (or finds it is a duplicate of one stored) and only then resolves. Rejects with
   * a BusUnavailableError when it cannot say within its timeout: the caller answers 503, never 202.
   */
  publish(event: CloudEvent, options?: PublishOptions): Promise<PublishOutcome>;
  /** The id of the last event stored for a source, for its stream's resume hint. */
  lastIdFor(source: string): Promise<string | undefined>;
  /**
   * Starts this process's share of a notifier's deliveries, or changes the handler and options of a
   * running one in place (its position is kept). A new notifier starts from events published after.
   */
  subscribe(notifier: string, handler: DeliveryHandler, options?: SubscriptionOptions): Promise<void>;
  /** Stops delivering to a notifier and forgets its position: the notifier was deleted. */
  removeSubscription(notifier: string): Promise<void>;
  stats(): Promise<BusStats>;
  /** Dead letters, oldest first, of one notifier or all; at most `limit` (default 100). */
  deadLetters(options?: { notifier?: string; limit?: number }): Promise<DeadLetter[]>;
  /**
   * A map shared by every process on this bus, its entries removed `maxAgeMs` after they were set; the
   * in-memory bus has none (it has one process).
   */
  sharedMap?<T>(name: string, options: { maxAgeMs: number }): Promise<SharedMap<T>>;
  /**
   * Stops taking events and deliveries. Deliveries under way get up to `drainMs` to finish; the memory
   * bus also delivers what it has queued within that time (what remains is counted dropped), while
   * JetStream keeps it stored for the next process.
   */
  close(drainMs?: number): Promise<void>;
}

/**
 * A small map every replica shares (JetStream: a key-value bucket): what one process sets, the others
 * read. For state that must follow an event wherever it is delivered, such as a chat thread's root.
 * Any key string is allowed; values are JSON. Rejects when the bus cannot answer.
 */
export interface SharedMap<T> {
  get(key: string): Promise<T | undefined>;
  set(key: string, value: T): Promise<void>;
  delete(key: string): Promise<void>;
}

/** The bus cannot store an event now (unreachable, slow, closed): retryable, so HTTP 503 with Retry-After. */
export class BusUnavailableError extends Error {
  override name = "BusUnavailableError";
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds: number, options?: ErrorOptions) {
    super(message, options);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export function emptySubscriptionStats(): SubscriptionStats {
  return {
    pending: 0,
    ackPending: 0,
    acked: 0,
    skipped: 0,
    retried: 0,
    deadLettered: 0,
    alreadySettled: 0,
    dropped: { overflow: 0, removed: 0, shutdown: 0 },
  };
}
