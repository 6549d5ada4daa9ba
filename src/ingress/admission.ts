/** Whether the ingress may accept an event in a source's name: the source exists, is ready, opted in, allows the type. */
import type { CloudEvent } from "../events/cloudevent.ts";
import { HttpError } from "./http-errors.ts";
import type { SourceDirectory, SourceInfo } from "./ports.ts";

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
