/**
 * Kubernetes object metadata, conditions and the small shapes every Patchbay kind shares, as
 * TypeBox schemas: the CRDs in crds/, the TypeScript types and the local validation all come from
 * them (see README "The API"). Kept free of @kubernetes/client-node so that `patchbay local` and the
 * router never load it.
 */
import { Type, type Static } from "@sinclair/typebox";
import { ServerOwnedObject, StringEnum, StringLiteral, StringMap, type CelRule } from "./kube-schema.ts";

export const GROUP = "patchbay.dev";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;

/**
 * The metadata Patchbay reads or writes. The API server owns metadata's schema (a CRD may only say
 * `type: object` there), so this is a TypeScript type only, not part of any CRD.
 */
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

/** apiVersion and kind as every Kubernetes object declares them (the CRD's wording is the API conventions'). */
export const typeMetaFields = <const Kind extends string>() => ({
  apiVersion: StringLiteral<"patchbay.dev/v1alpha1">({
    description:
      "APIVersion defines the versioned schema of this representation of an object. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources",
  }),
  kind: StringLiteral<Kind>({
    description:
      "Kind is a string value representing the REST resource this object represents. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
  }),
  metadata: ServerOwnedObject<ObjectMeta>(),
});

/** DNS-1123 subdomain: names of Secrets, ServiceAccounts and other Patchbay resources. */
export const DNS_SUBDOMAIN_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

export const CONDITION_STATUSES = ["True", "False", "Unknown"] as const;
export type ConditionStatus = (typeof CONDITION_STATUSES)[number];

/** metav1.Condition, field for field, with the API conventions' limits. */
export const ConditionSchema = Type.Object(
  {
    type: Type.String({
      description: "Type of condition in UpperCamelCase, e.g. Ready.",
      maxLength: 316,
      pattern:
        "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
    }),
    status: StringEnum(CONDITION_STATUSES, { description: "Status of the condition." }),
    observedGeneration: Type.Optional(
      Type.Integer({
        description: "The .metadata.generation the condition was set from.",
        format: "int64",
        minimum: 0,
      }),
    ),
    lastTransitionTime: Type.String({
      description: "When the condition last changed status.",
      format: "date-time",
    }),
    reason: Type.String({
      description: "Machine-readable UpperCamelCase reason for the last transition.",
      minLength: 1,
      maxLength: 1024,
      pattern: "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
    }),
    message: Type.String({ description: "Human-readable details of the transition.", maxLength: 32768 }),
  },
  { description: "One aspect of the resource's state (metav1.Condition)." },
);
/** A status condition per the Kubernetes API conventions (metav1.Condition). */
export type Condition = Static<typeof ConditionSchema>;

/** `status.conditions`: a list keyed by type, as the API conventions ask. */
export const ConditionsSchema = Type.Array(ConditionSchema, {
  description:
    "Observations of the resource's state, per the Kubernetes API conventions. Ready summarises the others.",
  maxItems: 16,
  "x-kubernetes-list-type": "map",
  "x-kubernetes-list-map-keys": ["type"],
});

export const SELECTOR_OPERATORS = ["In", "NotIn", "Exists", "DoesNotExist"] as const;

export const LabelSelectorSchema = Type.Object(
  {
    matchLabels: Type.Optional(
      StringMap(Type.String({ description: "Label value." }), {
        description: "Labels a source must carry, key to value.",
      }),
    ),
    matchExpressions: Type.Optional(
      Type.Array(
        Type.Object(
          {
            key: Type.String({ description: "The label key.", minLength: 1 }),
            operator: StringEnum(SELECTOR_OPERATORS, { description: "How the label relates to values." }),
            values: Type.Optional(
              Type.Array(Type.String(), {
                description: "Values for In and NotIn (non-empty); empty for Exists and DoesNotExist.",
                maxItems: 256,
                "x-kubernetes-list-type": "atomic",
              }),
            ),
          },
          {
            description: "One requirement on a label.",
            "x-kubernetes-validations": [
              {
                rule: "(self.operator == 'In' || self.operator == 'NotIn') ? (has(self.values) && size(self.values) > 0) : (!has(self.values) || size(self.values) == 0)",
                message: "In and NotIn need a non-empty list of values; Exists and DoesNotExist take none",
              },
            ] satisfies CelRule[],
          },
        ),
        {
          description: "Requirements on labels; all must hold.",
          maxItems: 32,
          "x-kubernetes-list-type": "atomic",
        },
      ),
    ),
  },
  {
    description: "Label selector over SourcePlugins; an empty selector {} matches every source.",
    "x-kubernetes-map-type": "atomic",
  },
);
export type LabelSelector = Static<typeof LabelSelectorSchema>;

export const SecretKeyRefSchema = (holds: string) =>
  Type.Object(
    {
      name: Type.String({
        description: "Name of the Secret.",
        minLength: 1,
        maxLength: 253,
        pattern: DNS_SUBDOMAIN_PATTERN,
      }),
      key: Type.String({
        description: "Key within the Secret's data.",
        minLength: 1,
        maxLength: 253,
        pattern: "^[-._a-zA-Z0-9]+$",
      }),
    },
    { description: `A key of a Secret in the resource's namespace that holds ${holds}.` },
  );
/** A reference to one key of a Secret in the same namespace. */
export type SecretKeyRef = Static<ReturnType<typeof SecretKeyRefSchema>>;

const EXACTLY_ONE_ORIGIN: CelRule = {
  rule: "(has(self.value) ? 1 : 0) + (has(self.secretKeyRef) ? 1 : 0) + (has(self.env) ? 1 : 0) + (has(self.file) ? 1 : 0) == 1",
  message: "set exactly one of value, secretKeyRef, env, file",
};
const HTTP_URL: CelRule = {
  rule: "!has(self.value) || self.value.matches('^https?://')",
  message: "value must be an http or https URL",
};

/**
 * Where a secret value (a webhook URL, a token) comes from. In the cluster: a Secret; in local runs:
 * an environment variable or a file (the operator refuses these: they would read its own). `value`
 * inline is for values that are not secret. `what` words the descriptions ("the Slack webhook URL");
 * `url` adds the rule that an inline value is an http(s) URL.
 */
export const ValueSourceSchema = (what: string, { url }: { url: boolean }) =>
  Type.Object(
    {
      value: Type.Optional(
        Type.String({
          description: `${what} inline, for values that are not secret.`,
          minLength: 1,
          maxLength: 4096,
        }),
      ),
      secretKeyRef: Type.Optional(SecretKeyRefSchema(what)),
      env: Type.Optional(
        Type.String({
          description: `Environment variable of the Patchbay process holding ${what} (local runs only; the operator refuses it).`,
          minLength: 1,
          maxLength: 256,
        }),
      ),
      file: Type.Optional(
        Type.String({
          description: `File holding ${what} (local runs only; the operator refuses it).`,
          minLength: 1,
          maxLength: 4096,
        }),
      ),
    },
    {
      description: `Where ${what} comes from: set exactly one of value, secretKeyRef, env, file. In the cluster use secretKeyRef; env and file are for local runs.`,
      "x-kubernetes-validations": url ? [EXACTLY_ONE_ORIGIN, HTTP_URL] : [EXACTLY_ONE_ORIGIN],
    },
  );
export type ValueSource = Static<ReturnType<typeof ValueSourceSchema>>;
