/** One delivery attempt with a deadline: the part the router's workers and the bus's consumers share. */
import type { CloudEvent } from "../events/cloudevent.ts";
import type { DeliveryOutcome, NotifierSink } from "./sink.ts";

/**
 * Sends `event` through `sink` once. The sink should abort on `controller`'s signal (the caller may abort
 * it too, e.g. on shutdown); the timer settles the attempt even if the sink ignores the signal, and a sink
 * that throws is a retryable failure rather than a crash.
 */
export function attemptDelivery(
  sink: NotifierSink,
  event: CloudEvent,
  timeoutMs: number,
  controller: AbortController = new AbortController(),
): Promise<DeliveryOutcome> {
  return new Promise<DeliveryOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: DeliveryOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const timer = setTimeout(() => {
      controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, "TimeoutError"));
      finish({ kind: "retry", reason: `timed out after ${timeoutMs} ms` });
    }, timeoutMs);
    const threw = (error: unknown) =>
      finish({
        kind: "retry",
        reason: `the ${sink.type} notifier threw: ${(error as Error)?.message ?? String(error)}`,
      });
    try {
      sink.deliver(event, controller.signal).then(finish, threw);
    } catch (error) {
      threw(error);
    }
  });
}
