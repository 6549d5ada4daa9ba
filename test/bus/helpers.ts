/** Shared by the bus tests: events, and a recording handler. */
import type { CloudEvent } from "../../src/events/cloudevent.ts";
import type { Delivery, DeliveryHandler, Settlement } from "../../src/bus/index.ts";

export { waitFor } from "../support/wait.ts";

export function event(id: string, source = "demo", extra: Partial<CloudEvent> = {}): CloudEvent {
  return {
    specversion: "1.0",
    id,
    source,
    type: "com.example.test",
    time: "2026-01-01T00:00:00.000Z",
    data: { id },
    ...extra,
  };
}

export interface Recorded {
  id: string;
  attempt: number;
  at: number;
}

/** A handler that records every delivery and settles it as `decide` says (default: ack). */
export function recorder(
  decide: (delivery: Delivery) => Settlement | Promise<Settlement> = () => ({ kind: "ack" }),
): {
  handler: DeliveryHandler;
  deliveries: Recorded[];
  ids(): string[];
} {
  const deliveries: Recorded[] = [];
  return {
    deliveries,
    handler: async (delivery) => {
      deliveries.push({ id: delivery.event.id, attempt: delivery.attempt, at: Date.now() });
      return decide(delivery);
    },
    ids: () => deliveries.map((d) => d.id),
  };
}
