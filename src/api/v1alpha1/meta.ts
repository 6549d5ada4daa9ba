/**
 * Kubernetes object metadata and conditions, as much of them as Patchbay reads or writes. Kept free
 * of @kubernetes/client-node so that `patchbay local` and the router never load it.
 */
export const GROUP = "patchbay.dev";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  deletionTimestamp?: string;
  creationTimestamp?: string;
}

export type ConditionStatus = "True" | "False" | "Unknown";

/** A status condition per the Kubernetes API conventions (metav1.Condition). */
export interface Condition {
  type: string;
  status: ConditionStatus;
  /** UpperCamelCase, machine-readable. */
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: {
    key: string;
    operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
    values?: string[];
  }[];
}

/** A reference to one key of a Secret in the same namespace. */
export interface SecretKeyRef {
  name: string;
  key: string;
}

/**
 * Where a secret value (a webhook URL, a token) comes from. In the cluster: a Secret; in local runs:
 * an environment variable or a file (the operator refuses these: they would read its own). `value`
 * inline is for values that are not secret.
 */
export interface ValueSource {
  value?: string;
  secretKeyRef?: SecretKeyRef;
  env?: string;
  file?: string;
}
