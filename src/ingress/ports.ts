/**
 * What the ingress needs from the rest of Patchbay. The lead wires these to the plugin hub and the
 * router; tests implement them with fakes or with a real source plugin over gRPC.
 */
import type { CloudEvent } from "../events/cloudevent.ts";

export interface ExternalRequest {
  method: string;
  /** Below /sources/<name>, starting with "/", with any query string. */
  path: string;
  /** Lower-case names; Authorization and hop-by-hop headers removed. */
  headers: Record<string, string>;
  body: Buffer;
}

export interface ExternalResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  events: CloudEvent[];
}

export interface SourceDirectory {
  /** undefined when no SourcePlugin has this name. */
  lookup(name: string): SourceInfo | undefined;
  /**
   * Forwards to the plugin's HandleExternalRequest; rejects with an Error whose `code` is
   * "unavailable" | "unsupported" | "timeout" | "failed" and a message that says why.
   */
  handleExternalRequest(
    name: string,
    request: ExternalRequest,
    deadlineMs: number,
  ): Promise<ExternalResponse>;
}

export interface SourceInfo {
  name: string;
  ready: boolean;
  /** Why not ready, e.g. "Unavailable: connection refused". */
  reason: string;
  /** From the plugin's IngressPolicy: may /events carry this source? */
  acceptsCloudEvents: boolean;
  /** Accepted types; a trailing * matches any suffix; empty accepts every type. */
  allowedTypes: string[];
  acceptsExternalRequests: boolean;
}

/**
 * Where accepted events go: the router's queues (synchronous, in memory) or the event bus, whose
 * publish resolves only once the event is stored (or found a duplicate of one stored) and rejects with
 * a BusUnavailableError when it cannot store it. The ingress answers 202 only after every publish of
 * a request has resolved.
 */
export interface EventSink {
  publish(event: CloudEvent): unknown;
}
