/** Fault injection (`failNext`) and the request log tests assert on. */

import { failure, reasonForCode } from "./errors.ts";
import type { ApiError } from "./errors.ts";

export interface FaultRule {
  /** HTTP method to match (any when omitted), e.g. "PUT". */
  method?: string;
  /**
   * Matched against the request target including the query string (`/apis/g/v/ns/x/things?watch=true`):
   * a RegExp is tested, a string must be contained. Any request when omitted.
   */
  pathPattern?: string | RegExp;
  /** The HTTP status to answer with; the Status reason follows the real server's for that code. */
  status: number;
  /** How many matching requests fail (default 1). */
  times?: number;
  reason?: string;
  message?: string;
  /** Sent as `Retry-After` and in `details.retryAfterSeconds` (for 429/503). */
  retryAfterSeconds?: number;
}

export interface InjectedFault {
  /** Matching requests that will still fail. */
  remaining(): number;
  cancel(): void;
}

export interface RequestLogEntry {
  method: string;
  /** Path without the query string. */
  path: string;
  /** The query string including `?`, or "". */
  query: string;
  contentType: string | undefined;
  accept: string | undefined;
  userAgent: string | undefined;
  /** Every request header by lower-case name, each with all its values (Impersonate-Group repeats). */
  headers: Record<string, string[]>;
  watch: boolean;
  /** The response status, filled in when the response has been sent (streaming watches: 200 at once). */
  status?: number;
  /** Set when the response came from `failNext`. */
  injected?: boolean;
}

interface ActiveRule {
  rule: FaultRule;
  remaining: number;
}

export class FaultInjector {
  private rules: ActiveRule[] = [];

  add(rule: FaultRule): InjectedFault {
    const active: ActiveRule = { rule, remaining: rule.times ?? 1 };
    this.rules.push(active);
    return {
      remaining: () => active.remaining,
      cancel: () => {
        active.remaining = 0;
        this.rules = this.rules.filter((r) => r !== active);
      },
    };
  }

  clear(): void {
    this.rules = [];
  }

  /** The failure to answer with, consuming one use of the first matching rule; undefined otherwise. */
  take(method: string, target: string): { error: ApiError; retryAfterSeconds?: number } | undefined {
    const active = this.rules.find((r) => r.remaining > 0 && matches(r.rule, method, target));
    if (!active) return undefined;
    active.remaining--;
    if (active.remaining <= 0) this.rules = this.rules.filter((r) => r !== active);
    const { status, reason, message, retryAfterSeconds } = active.rule;
    const details = retryAfterSeconds !== undefined ? { retryAfterSeconds } : undefined;
    const error = failure(
      status,
      reason ?? reasonForCode(status),
      message ?? `injected fault: ${method} ${target} answered ${status}`,
      details,
    );
    return retryAfterSeconds !== undefined ? { error, retryAfterSeconds } : { error };
  }
}

function matches(rule: FaultRule, method: string, target: string): boolean {
  if (rule.method && rule.method.toUpperCase() !== method.toUpperCase()) return false;
  const pattern = rule.pathPattern;
  if (pattern === undefined) return true;
  return typeof pattern === "string" ? target.includes(pattern) : pattern.test(target);
}
