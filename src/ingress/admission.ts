/**
 * Whether the ingress may accept an event in a source's name: the source exists, is ready, opted in,
 * allows the type; and whether Patchbay has the memory to hold it.
 */
import type { CloudEvent } from "../events/cloudevent.ts";
import { HttpError } from "./http-errors.ts";
import type { EventSink, SourceDirectory, SourceInfo } from "./ports.ts";

/** A sink that says how many bytes of events it holds and may hold (the router does). */
export interface MeteredSink extends EventSink {
  memoryUse?(): { bytes: number; budgetBytes: number };
}

/** The queues drain at the notifiers' pace; a few seconds is a fair first pause before trying again. */
const MEMORY_RETRY_AFTER_SECONDS = 5;

/**
 * Refuses a request whose events would take the sink past its memory budget: 503 with Retry-After, so a
 * well-behaved producer backs off while the notifiers catch up, instead of Patchbay running out of memory.
 */
export function admitWithinMemoryBudget(sink: MeteredSink, incomingBytes: number): void {
  const use = sink.memoryUse?.();
  if (use === undefined || use.bytes + incomingBytes <= use.budgetBytes) return;
  throw new HttpError(
    503,
    "memory-budget-exceeded",
    `Patchbay holds ${mebibytes(use.bytes)} of undelivered events and its memory budget is ${mebibytes(use.budgetBytes)} (PATCHBAY_MEMORY_BUDGET); these ${incomingBytes} bytes would exceed it. Retry once the notifiers have caught up`,
    { "retry-after": String(MEMORY_RETRY_AFTER_SECONDS) },
  );
}

function mebibytes(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

/** Throws the HttpError that explains a refusal. `where` prefixes the message (e.g. the batch index). */
export function admit(sources: SourceDirectory, event: CloudEvent, where: string): SourceInfo {
  const source = knownSource(sources, event.source, where);
  if (!source.acceptsCloudEvents) {
    throw new HttpError(
      403,
      "source-refuses-cloudevents",
      `${where}source "${source.name}" does not accept CloudEvents through the ingress (its plugin's IngressPolicy does not opt in)`,
    );
  }
  if (!typeAllowed(source.allowedTypes, event.type)) {
    throw new HttpError(
      403,
      "type-not-allowed",
      `${where}source "${source.name}" does not accept events of type "${event.type}"; allowed: ${source.allowedTypes.join(", ")}`,
    );
  }
  return source;
}

/** The source, known and ready, or the HttpError that says otherwise. */
export function knownSource(sources: SourceDirectory, name: string, where = ""): SourceInfo {
  const source = sources.lookup(name);
  if (!source) throw new HttpError(404, "unknown-source", `${where}no SourcePlugin is named "${name}"`);
  if (!source.ready) {
    throw new HttpError(
      503,
      "source-not-ready",
      `${where}source "${name}" is not ready: ${source.reason || "its plugin has not been described yet"}`,
      { "retry-after": "10" },
    );
  }
  return source;
}

/** Empty allows every type; a trailing "*" matches any suffix. */
export function typeAllowed(allowed: readonly string[], type: string): boolean {
  if (allowed.length === 0) return true;
  return allowed.some((pattern) =>
    pattern.endsWith("*") ? type.startsWith(pattern.slice(0, -1)) : pattern === type,
  );
}
