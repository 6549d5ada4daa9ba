/**
 * How many bytes of events the router holds (queued or out for delivery), against a budget the ingress
 * reads before accepting more. An event routed to several notifiers is one object in memory, so it is
 * counted once, and released when the last notifier lets go of it.
 */
import type { CloudEvent } from "../events/cloudevent.ts";
import { estimateEventBytes } from "./event-size.ts";

/** An event as the queues hold it: its size measured once, and how many notifiers still hold it. */
export interface HeldEvent {
  readonly event: CloudEvent;
  readonly bytes: number;
  holders: number;
}

export interface MemoryUse {
  /** Estimated bytes of the events held now. */
  bytes: number;
  /** The most the router should hold; the ingress refuses events that would go beyond it. */
  budgetBytes: number;
}

export class MemoryLedger {
  readonly budgetBytes: number;
  #bytes = 0;

  constructor(budgetBytes: number) {
    this.budgetBytes = budgetBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Measures an event about to be queued; its holders are counted as each queue takes it. */
  hold(event: CloudEvent): HeldEvent {
    const bytes = estimateEventBytes(event);
    this.#bytes += bytes;
    return { event, bytes, holders: 0 };
  }

  /** One holder lets go; the bytes are released with the last. */
  release(held: HeldEvent): void {
    if (--held.holders === 0) this.#bytes -= held.bytes;
  }
}
