/**
 * The contract between the router and a platform: render one event and send it in one request. The
 * router owns queueing, pacing, retries and timeouts; a sink only says how the attempt went.
 */
import type { CloudEvent } from "../events/cloudevent.ts";

export type DeliveryOutcome =
  | { kind: "delivered" }
  /** Worth trying again: a 5xx, 408, 429, a timeout, a refused connection. */
  | { kind: "retry"; reason: string; retryAfterMs?: number }
  /** Trying again cannot help: a 4xx other than 408/429, a payload the platform can never accept. */
  | { kind: "permanent"; reason: string };

export const DELIVERED: DeliveryOutcome = Object.freeze({ kind: "delivered" });

export interface NotifierSink {
  /** The platform, e.g. "slack"; for logs and errors. */
  readonly type: string;
  /**
   * One attempt. `signal` aborts it (the per-attempt timeout or shutdown). Resolves with the outcome;
   * rejects only on a bug, which the router treats as retryable.
   */
  deliver(event: CloudEvent, signal: AbortSignal): Promise<DeliveryOutcome>;
}
