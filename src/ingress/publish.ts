/**
 * Publishing a request's events and waiting until each is stored: the 202 comes only after. An event
 * bus that cannot store one (unreachable, slow, closing) is a retryable 503 with Retry-After, never a
 * 202; the events of the request that were stored are duplicates when the producer retries.
 */
import { BusUnavailableError } from "../bus/event-bus.ts";
import type { CloudEvent } from "../events/cloudevent.ts";
import { HttpError } from "./http-errors.ts";
import type { EventSink } from "./ports.ts";

export async function publishAll(sink: EventSink, events: readonly CloudEvent[]): Promise<void> {
  const pending: Promise<unknown>[] = [];
  for (const event of events) {
    const published = sink.publish(event);
    // The router's queues take an event synchronously; only a bus hands back a promise.
    if (published instanceof Promise) pending.push(published);
  }
  if (pending.length === 0) return;
  const results = await Promise.allSettled(pending);
  const failed = results.find((result): result is PromiseRejectedResult => result.status === "rejected");
  if (failed === undefined) return;
  const error: unknown = failed.reason;
  if (error instanceof BusUnavailableError) {
    throw new HttpError(
      503,
      "event-bus-unavailable",
      `the events were not stored, retry later: ${error.message}`,
      { "retry-after": String(error.retryAfterSeconds) },
    );
  }
  throw error;
}
