/**
 * Notifiers fed from the bus: what the router's NotifierWorker does for its in-process queue, done for
 * a bus subscription. Each notifier's selection (sources, label selector, filter) decides what it
 * takes; its token bucket paces this process's attempts; each attempt has its timeout; the outcome
 * becomes a settlement (ack, retry after the backoff or Retry-After, dead letter) by the shared policy.
 * The bus holds the event meanwhile, so a retry costs this process nothing and a crash loses nothing.
 *
 * It knows nothing of Kubernetes, like the router: it is told the sources' labels and the desired
 * notifiers, and applies changes live.
 */
import { deliveryDefaults, type ResolvedDelivery } from "../api/v1alpha1/index.ts";
import type { CloudEvent } from "../events/cloudevent.ts";
import { attemptDelivery, type DeliveryOutcome, type NotifierSink } from "../notifiers/index.ts";
import { createLogger, type Logger } from "../observability/logger.ts";
import {
  compileFilter,
  compileSources,
  RouterConfigError,
  SelectionError,
  type NotifierRoute,
  type SourceLabels,
} from "../router/index.ts";
import { TokenBucket } from "../router/token-bucket.ts";
import type { Delivery, EventBus, Settlement } from "./event-bus.ts";
import { settlementFor } from "./retry-policy.ts";

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});
/**
 * The bus waits this much beyond an attempt's own timeout before it gives the event to another process.
 * Short: it is also how long the event a crashed process was delivering waits (with one in flight per
 * notifier, the events behind it wait too); an attempt never outlives its own timeout.
 */
const ACK_WAIT_SLACK_MS = 5_000;

/** A say on each event before a notifier's own selection: the actions stage's (src/actions/bus-stage.ts). */
export interface DeliveryRouting {
  /** true: this notifier delivers it; false: it does not; undefined: the notifier's selection decides. */
  decide(event: CloudEvent, notifier: string): boolean | undefined;
  /** The event as the notifier delivers it (what was there only to route it removed). */
  present(event: CloudEvent): CloudEvent;
}

interface Notifier {
  route: NotifierRoute;
  settings: ResolvedDelivery;
  select: (event: CloudEvent) => boolean;
  bucket: TokenBucket;
}

export class BusNotifiers {
  readonly #bus: EventBus;
  readonly #log: Logger;
  #labels = new Map<string, Readonly<Record<string, string>>>();
  readonly #notifiers = new Map<string, Notifier>();
  #routing: DeliveryRouting | undefined;

  constructor(bus: EventBus, log: Logger = createLogger("notifiers")) {
    this.#bus = bus;
    this.#log = log;
  }

  /** The full set of known sources and their labels; sources not listed have no labels. */
  setSources(sources: readonly SourceLabels[]): void {
    const labels = new Map<string, Readonly<Record<string, string>>>();
    for (const source of sources) labels.set(source.name, Object.freeze({ ...source.labels }));
    this.#labels = labels;
  }

  /** Applies from the next delivery on. */
  setRouting(routing: DeliveryRouting | undefined): void {
    this.#routing = routing;
  }

  /**
   * Applies the desired notifiers: new ones subscribe (starting from new events), changed ones are
   * reconfigured in place (their position kept), missing ones are removed with their subscription.
   * An invalid route throws a RouterConfigError before anything changes.
   */
  async setNotifiers(routes: readonly NotifierRoute[]): Promise<void> {
    const desired = new Map<string, Notifier>();
    for (const route of routes) {
      if (!route.name) throw new RouterConfigError("a notifier needs a name");
      if (desired.has(route.name)) throw new RouterConfigError(`notifier "${route.name}" is listed twice`);
      desired.set(route.name, this.#compile(route));
    }
    for (const name of [...this.#notifiers.keys()]) {
      if (desired.has(name)) continue;
      this.#notifiers.delete(name);
      await this.#bus.removeSubscription(name);
      this.#log.info("notifier removed", { notifier: name });
    }
    for (const [name, notifier] of desired) {
      const existing = this.#notifiers.get(name);
      // Pacing survives a change that leaves the rate alone, as in the router.
      if (
        existing &&
        existing.settings.ratePerSecond === notifier.settings.ratePerSecond &&
        existing.settings.burst === notifier.settings.burst
      )
        notifier.bucket = existing.bucket;
      this.#notifiers.set(name, notifier);
      await this.#bus.subscribe(name, (delivery) => this.#deliver(name, delivery), {
        select: (event) => this.#selects(name, event),
        maxQueued: notifier.settings.queueSize,
        ackWaitMs: notifier.settings.timeoutSeconds * 1000 + ACK_WAIT_SLACK_MS,
      });
    }
  }

  #compile(route: NotifierRoute): Notifier {
    let sources, filter;
    try {
      sources = compileSources(route.sources);
      filter = compileFilter(route.filter);
    } catch (error) {
      if (!(error instanceof SelectionError)) throw error;
      throw new RouterConfigError(`notifier "${route.name}": ${error.message}`);
    }
    const settings = deliveryDefaults(route.type ?? route.sink.type, route.delivery);
    return {
      route,
      settings,
      select: (event) =>
        sources(event.source, this.#labels.get(event.source) ?? NO_LABELS) &&
        (filter === undefined || filter(event)),
      bucket: new TokenBucket(settings.ratePerSecond, settings.burst, Date.now()),
    };
  }

  #selects(name: string, event: CloudEvent): boolean {
    const notifier = this.#notifiers.get(name);
    if (notifier === undefined) return false;
    return this.#routing?.decide(event, name) ?? notifier.select(event);
  }

  async #deliver(name: string, delivery: Delivery): Promise<Settlement> {
    const notifier = this.#notifiers.get(name);
    // Removed between the pull and now: the bus forgets the subscription anyway.
    if (notifier === undefined) return { kind: "retry", delayMs: 0 };
    for (let wait = notifier.bucket.take(Date.now()); wait > 0; wait = notifier.bucket.take(Date.now())) {
      await sleep(wait, delivery.signal);
      if (delivery.signal.aborted) return { kind: "retry", delayMs: 0 };
    }
    const event = this.#routing ? this.#routing.present(delivery.event) : delivery.event;
    const outcome = await attemptOnce(notifier.route.sink, event, delivery, notifier.settings.timeoutSeconds);
    const settlement = settlementFor(outcome, delivery.attempt, notifier.settings);
    if (settlement.kind === "dead-letter") {
      this.#log.warn("delivery failed: the event goes to the dead letters", {
        notifier: name,
        reason: settlement.reason,
        eventSource: delivery.event.source,
        eventId: delivery.event.id,
      });
    }
    return settlement;
  }
}

/** One attempt with its own timeout, aborted too when the delivery is (the bus is closing). */
function attemptOnce(
  sink: NotifierSink,
  event: CloudEvent,
  delivery: Delivery,
  timeoutSeconds: number,
): Promise<DeliveryOutcome> {
  const controller = new AbortController();
  const stop = () => controller.abort(delivery.signal.reason);
  delivery.signal.addEventListener("abort", stop, { once: true });
  return attemptDelivery(sink, event, Math.round(timeoutSeconds * 1000), controller).finally(() =>
    delivery.signal.removeEventListener("abort", stop),
  );
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
