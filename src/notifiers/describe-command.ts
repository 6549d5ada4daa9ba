/**
 * The obvious next command for an event about a Kubernetes object: `kubectl describe <kind> <name> -n
 * <namespace>`. The object comes from a Kubernetes Event's involvedObject, from the kubernetes source's
 * own kind/name/namespace, or from an alert's pod and namespace labels. Every part must be a valid
 * Kubernetes name, so nothing in an event can add a flag or a second word to the command; otherwise
 * there is no command (and no button).
 */
import type { CloudEvent } from "../events/cloudevent.ts";

/** A kind as the API names it: a letter, then letters and digits (e.g. Pod, StatefulSet). */
const KIND = /^[A-Za-z][A-Za-z0-9]{0,62}$/;
/** DNS-1123 subdomain, ≤ 253 characters: what most object names are. */
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** DNS-1123 label, ≤ 63 characters: a namespace name. */
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

interface ObjectRef {
  kind: unknown;
  name: unknown;
  namespace: unknown;
}

export function describeCommandOf(event: CloudEvent): string | undefined {
  const data = isRecord(event.data) ? event.data : undefined;
  if (!data) return undefined;
  const labels = isRecord(data.labels) ? data.labels : undefined;
  const candidates: ObjectRef[] = [];
  if (isRecord(data.involvedObject)) candidates.push(data.involvedObject as unknown as ObjectRef);
  if (typeof data.kind === "string") candidates.push(data as unknown as ObjectRef);
  // An alert's pod means nothing without its namespace (it would describe a pod in "default").
  if (labels && typeof labels.pod === "string" && typeof labels.namespace === "string") {
    candidates.push({ kind: "Pod", name: labels.pod, namespace: labels.namespace });
  }
  for (const candidate of candidates) {
    const command = commandFor(candidate);
    if (command) return command;
  }
  return undefined;
}

function commandFor({ kind, name, namespace }: ObjectRef): string | undefined {
  if (typeof kind !== "string" || !KIND.test(kind)) return undefined;
  if (typeof name !== "string" || name.length > 253 || !NAME.test(name)) return undefined;
  const command = `kubectl describe ${kind.toLowerCase()} ${name}`;
  // An object without a namespace is cluster-scoped (a Node); one with a malformed namespace is refused.
  if (namespace === undefined || namespace === "") return command;
  if (typeof namespace !== "string" || namespace.length > 63 || !NAMESPACE.test(namespace)) return undefined;
  return `${command} -n ${namespace}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
