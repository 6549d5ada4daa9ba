/**
 * Actions when events are stored in the event bus. The edges store every event as it comes (a 202 never
 * waits for a command), so the engine cannot stand in front of the notifiers as it does before the
 * router. It is one more durable subscription on the bus instead, the actions stage, pulled by every
 * replica like a notifier's, so each event's Actions run once, in whichever replica takes it:
 *  - an event an attach-mode Action selects is skipped by the notifiers; the stage publishes the copy
 *    with the answers (marked answered, with its own dedup id, so a redelivery stores it once), and the
 *    notifiers deliver that copy instead;
 *  - a follow-up is published addressed to the Action's notifiers, which alone deliver it.
 * The stage acknowledges an event only once all of that is stored: a crash mid-run hands the event to
 * another replica, which runs it again (commands are read-only; the answer is stored once).
 *
 * The marks are extension attributes. The edges strip them (fromEdge), so no producer can make a
 * notifier skip or take an event; the notifiers remove them before delivery (present). Button-mode
 * Actions hold an event like attach-mode ones: the copy the stage stores carries the offered commands.
 */
import type { BusNotifiers, DeliveryRouting, EventBus, Settlement } from "../bus/index.ts";
import type { CloudEvent } from "../events/cloudevent.ts";
import { OFFERS_EXTENSION } from "../notifiers/index.ts";
import type { Logger } from "../observability/logger.ts";
import type { ActionEngine } from "./engine.ts";

/** On the copy that carries the answers: "true". */
export const ANSWERED_EXTENSION = "patchbayanswered";
/** On a follow-up: the notifiers it is for, comma-separated (Kubernetes names have no commas). */
export const ADDRESSED_EXTENSION = "patchbaynotifiers";
/** The stage's subscription: ":" cannot occur in a Notifier's name, so it never takes one's place. */
export const ACTIONS_STAGE = "patchbay:actions";

/** Runs (and attach deadlines) in flight per replica, and over all of them. */
const STAGE_IN_FLIGHT = 32;
/** The bus hands an event to another replica after this long without word from the one running it. */
const STAGE_ACK_WAIT_MS = 15_000;
/** How often a run in progress says so, well within the ack wait (default). */
const WORKING_EVERY_MS = 5_000;

/** The wait before trying the subscription again. */
const RESUBSCRIBE_MS = 1_000;

const ACK: Settlement = { kind: "ack" };

/**
 * The event as a producer sent it, without the attributes only Patchbay may set: the routing marks and
 * the offered commands (an event must not bring buttons of its own). Used at the edges, with or without
 * the bus.
 */
export function fromEdge(event: CloudEvent): CloudEvent {
  return without(withoutRoutingMarks(event), OFFERS_EXTENSION);
}

/** The event as the notifiers deliver it: what was there only to route it removed. */
function withoutRoutingMarks(event: CloudEvent): CloudEvent {
  return without(without(event, ANSWERED_EXTENSION), ADDRESSED_EXTENSION);
}

function without(event: CloudEvent, attribute: string): CloudEvent {
  if (event[attribute] === undefined) return event;
  const { [attribute]: _removed, ...rest } = event;
  return rest as CloudEvent;
}

export interface ActionsStageOptions {
  bus: EventBus;
  notifiers: BusNotifiers;
  engine: ActionEngine;
  /** The notifiers configured now, to name those a follow-up is addressed to and that do not exist. */
  knownNotifiers: () => ReadonlySet<string>;
  /** How often a run in progress tells the bus it is still going (default 5 s; the ack wait is 15 s). */
  workingEveryMs?: number;
  log: Logger;
}

export class ActionsStage {
  readonly #options: ActionsStageOptions;
  #wanted = false;
  #subscribed = false;
  #syncing: Promise<void> | undefined;
  #closed = false;

  constructor(options: ActionsStageOptions) {
    this.#options = options;
    options.notifiers.setRouting(this.#routing);
  }

  /**
   * Subscribes while there are Actions and removes the subscription when there are none. Returns at
   * once; with the bus away it keeps trying (the Actions' events wait stored meanwhile).
   */
  want(hasActions: boolean): void {
    this.#wanted = hasActions;
    if (!this.#syncing) this.#syncing = this.#sync().finally(() => (this.#syncing = undefined));
  }

  /** Resolves once the subscription matches the last want(), or the stage is closed. */
  async settled(): Promise<void> {
    while (this.#syncing) await this.#syncing;
  }

  close(): void {
    this.#closed = true;
  }

  async #sync(): Promise<void> {
    while (!this.#closed && this.#wanted !== this.#subscribed) {
      const wanted = this.#wanted;
      try {
        if (wanted) await this.#subscribe();
        else await this.#options.bus.removeSubscription(ACTIONS_STAGE);
        this.#subscribed = wanted;
      } catch (error) {
        this.#options.log.warn("the actions stage could not be (un)subscribed on the event bus; retrying", {
          subscribe: wanted,
          error: (error as Error).message,
        });
        await new Promise((resolve) => setTimeout(resolve, RESUBSCRIBE_MS));
      }
    }
  }

  #subscribe(): Promise<void> {
    const { bus, engine } = this.#options;
    return bus.subscribe(ACTIONS_STAGE, (delivery) => this.#answer(delivery.event, delivery.working), {
      select: (event) => !isMarked(event) && engine.selects(event),
      maxInFlight: STAGE_IN_FLIGHT,
      parallel: true,
      ackWaitMs: STAGE_ACK_WAIT_MS,
    });
  }

  /** The engine's publish with the bus: only a held copy is published; the original is stored already. */
  async publish(event: CloudEvent, held: boolean): Promise<void> {
    if (!held) return;
    await this.#options.bus.publish(
      { ...event, [ANSWERED_EXTENSION]: "true" },
      { derivedId: `answered/${event.source}/${event.id}` },
    );
  }

  /** The engine's publishTo with the bus: the follow-up, addressed; returns the names not configured. */
  async publishTo(event: CloudEvent, notifiers: readonly string[]): Promise<string[]> {
    const known = this.#options.knownNotifiers();
    await this.#options.bus.publish(
      { ...event, [ADDRESSED_EXTENSION]: notifiers.join(",") },
      { derivedId: `follow-up/${event.source}/${event.id}` },
    );
    return notifiers.filter((name) => !known.has(name));
  }

  async #answer(event: CloudEvent, working: () => void): Promise<Settlement> {
    const timer = setInterval(working, this.#options.workingEveryMs ?? WORKING_EVERY_MS);
    try {
      await this.#options.engine.answer(event);
      return ACK;
    } finally {
      clearInterval(timer);
    }
  }

  readonly #routing: DeliveryRouting = {
    decide: (event, notifier) => {
      const addressed = event[ADDRESSED_EXTENSION];
      if (typeof addressed === "string") return addressed.split(",").includes(notifier);
      // The original of a held event: its answered copy follows.
      if (!isAnswered(event) && this.#options.engine.holds(event)) return false;
      return undefined;
    },
    present: withoutRoutingMarks,
  };
}

function isAnswered(event: CloudEvent): boolean {
  return event[ANSWERED_EXTENSION] === "true";
}

function isMarked(event: CloudEvent): boolean {
  return isAnswered(event) || event[ADDRESSED_EXTENSION] !== undefined;
}
