/** One HTTP POST and what its response means for retrying, shared by every HTTP platform. */
import { redactKnownSecrets } from "../observability/redact.ts";
import { DELIVERED, type DeliveryOutcome } from "./sink.ts";

export interface HttpRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  /**
   * The same message without its optional parts (a link, an avatar, buttons), sent once when the
   * receiver answers 400 to `body`: a platform that refuses one of our optional parts still gets the
   * message, and only a refusal of the bare message counts as permanent.
   */
  fallbackBody?: string;
}

/** Longest response body excerpt quoted in a failure reason. */
const REASON_BODY_CHARS = 200;

export async function post(request: HttpRequest, signal: AbortSignal): Promise<DeliveryOutcome> {
  const first = await attempt(request, request.body, signal);
  if (first.status !== 400 || request.fallbackBody === undefined || request.fallbackBody === request.body) {
    return first.outcome;
  }
  const second = await attempt(request, request.fallbackBody, signal);
  if (second.outcome.kind !== "permanent") return second.outcome;
  const firstReason = first.outcome.kind === "permanent" ? first.outcome.reason : "";
  return {
    kind: "permanent",
    reason: `${firstReason}; without its optional parts: ${second.outcome.reason}`,
  };
}

/** One request; the status is undefined when no response came. */
async function attempt(
  request: HttpRequest,
  body: string,
  signal: AbortSignal,
): Promise<{ outcome: DeliveryOutcome; status?: number }> {
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: "POST",
      headers: request.headers,
      body,
      signal,
    });
  } catch (error) {
    // fetch's errors may quote the URL (with its credentials) or a header value it refused.
    const reason = redactRequestSecrets(describeFetchError(error, signal), request);
    return { outcome: { kind: "retry", reason } };
  }
  if (response.ok) {
    // Reading the body returns the connection to the pool; a cancelled body would close it.
    await response.arrayBuffer().catch(() => undefined);
    return { outcome: DELIVERED, status: response.status };
  }
  const text = await response.text().catch(() => "");
  // A receiver's error page may echo the request back.
  const reason = redactRequestSecrets(`HTTP ${response.status}${text ? `: ${excerpt(text)}` : ""}`, request);
  const outcome = classifyStatus(response.status, response.headers.get("retry-after"), reason);
  return { outcome, status: response.status };
}

/** 5xx, 408 and 429 are transient; other 4xx (and an unexpected 1xx/3xx) will not change on a retry. */
export function classifyStatus(status: number, retryAfter: string | null, reason: string): DeliveryOutcome {
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfterMs = retryAfter === null ? undefined : parseRetryAfter(retryAfter);
    return retryAfterMs === undefined ? { kind: "retry", reason } : { kind: "retry", reason, retryAfterMs };
  }
  return { kind: "permanent", reason };
}

/** Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3), in ms from now; undefined if malformed. */
export function parseRetryAfter(value: string, now = Date.now()): number | undefined {
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** What went wrong with a fetch, for a delivery's reason: the timeout, the abort, or the socket's error code. */
export function describeFetchError(error: unknown, signal: AbortSignal): string {
  if (signal.aborted) {
    const reason = signal.reason as { name?: string; message?: string } | undefined;
    return reason?.name === "TimeoutError"
      ? "request timed out"
      : `request aborted: ${reason?.message ?? "aborted"}`;
  }
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `request failed: ${cause.code}${cause.message ? ` (${cause.message})` : ""}`;
  return `request failed: ${(error as Error).message}`;
}

/** The request's URL and its header values (bar the content type, which we chose) out of a reason. */
function redactRequestSecrets(reason: string, request: HttpRequest): string {
  const headerValues = Object.entries(request.headers)
    .filter(([name]) => name.toLowerCase() !== "content-type")
    .map(([, value]) => value);
  return redactKnownSecrets(reason, request.url, headerValues);
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > REASON_BODY_CHARS ? `${flat.slice(0, REASON_BODY_CHARS)}…` : flat;
}
