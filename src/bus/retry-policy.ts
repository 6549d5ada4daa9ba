/**
 * How a delivery attempt's outcome becomes a settlement on the bus: the router's retry rules (exponential
 * backoff with jitter, Retry-After honoured, a cap on how long a server may ask us to wait), with the
 * one change that a delivery which will not be retried goes to the dead letters instead of vanishing.
 */
import type { DeliveryOutcome } from "../notifiers/index.ts";
import { ACK, type Settlement } from "./event-bus.ts";

export interface RetryPolicy {
  /** Retries after the first attempt; the attempt after the last retry is dead-lettered if it fails. */
  maxRetries: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

/** A server may ask for a long pause; beyond an hour the backlog would only grow, so the wait is capped. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/** `attempt` is 1-based (Delivery.attempt). `random` is for tests; it defaults to Math.random. */
export function settlementFor(
  outcome: DeliveryOutcome,
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): Settlement {
  switch (outcome.kind) {
    case "delivered":
      return ACK;
    case "permanent":
      return { kind: "dead-letter", reason: outcome.reason };
    case "retry": {
      const retriesSoFar = attempt - 1;
      if (retriesSoFar >= policy.maxRetries) {
        return {
          kind: "dead-letter",
          reason: `gave up after ${attempt} attempt${attempt === 1 ? "" : "s"}: ${outcome.reason}`,
        };
      }
      const delayMs =
        outcome.retryAfterMs !== undefined
          ? Math.min(Math.max(0, outcome.retryAfterMs), MAX_RETRY_AFTER_MS)
          : jitter(Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** retriesSoFar), random);
      return { kind: "retry", delayMs };
    }
  }
}

/** Uniform in [ceiling/2, ceiling]: spreads retries of many notifiers without ever retrying at once. */
function jitter(ceiling: number, random: () => number): number {
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
