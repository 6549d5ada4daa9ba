/**
 * The obvious next command for an event about a Kubernetes object: `kubectl describe <kind> <name>
 * [-n <namespace>]`. The object comes from a Kubernetes Event's involvedObject, from the kubernetes
 * source's own data (kind, name, namespace), or from an alert's pod and namespace labels. A name or
 * namespace that is not a valid Kubernetes name yields no command: the event's data is untrusted, and a
 * command line must never carry what could read as a flag or a second argument.
 */
import type { CloudEvent } from "../events/cloudevent.ts";

export interface ObjectReference {
  kind: string;
  name: string;
  /** Absent for cluster-scoped objects (a Node, a Namespace). */
  namespace?: string;
}

/** DNS-1123 subdomain, at most 253 characters: object names. */
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const MAX_NAME = 253;
/** DNS-1123 label, at most 63 characters: namespaces. */
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const MAX_NAMESPACE = 63;
/** A Kind is one CamelCase word. */
const KIND = /^[A-Z][A-Za-z0-9]{0,62}$/;

/** The Kubernetes object an event is about, when it names one validly; undefined otherwise. */
export function kubernetesObjectOf(event: CloudEvent): ObjectReference | undefined {
  const data = isRecord(event.data) ? event.data : undefined;
  if (!data) return undefined;
  const candidate = isRecord(data.involvedObject)
    ? data.involvedObject
    : typeof data.kind === "string" && typeof data.name === "string"
      ? data
      : alertPod(data);
  if (!candidate) return undefined;
  const { kind, name, namespace } = candidate;
  if (typeof kind !== "string" || !KIND.test(kind)) return undefined;
  if (typeof name !== "string" || name.length > MAX_NAME || !NAME.test(name)) return undefined;
  if (namespace === undefined || namespace === "") return { kind, name };
  if (typeof namespace !== "string" || namespace.length > MAX_NAMESPACE || !NAMESPACE.test(namespace)) {
    return undefined;
  }
  return { kind, name, namespace };
}

/** `kubectl describe <kind> <name> [-n <namespace>]` for the event's object, or undefined. */
export function describeCommandOf(event: CloudEvent): string | undefined {
  const object = kubernetesObjectOf(event);
  if (!object) return undefined;
  const scope = object.namespace ? ` -n ${object.namespace}` : "";
  return `kubectl describe ${object.kind.toLowerCase()} ${object.name}${scope}`;
}

/** An alert about a pod says so in its labels (kube-state-metrics and most rules carry pod and namespace). */
function alertPod(data: Record<string, unknown>): Record<string, unknown> | undefined {
  const labels = isRecord(data.labels) ? data.labels : undefined;
  if (!labels || typeof labels.pod !== "string" || typeof labels.namespace !== "string") return undefined;
  return { kind: "Pod", name: labels.pod, namespace: labels.namespace };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
