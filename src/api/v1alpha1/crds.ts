/**
 * The CustomResourceDefinitions of patchbay.dev/v1alpha1, built from the TypeBox schemas. `npm run
 * crds` writes them to crds/ (src/api/generate-crds.ts); local validation compiles the same
 * openAPIV3Schema (validation.ts), so the cluster and `patchbay local` apply one set of rules.
 */
import type { TSchema } from "@sinclair/typebox";
import type { JsonSchema } from "../schema-validator.ts";
import { ActionSchema } from "./action.ts";
import { GROUP, VERSION } from "./meta.ts";
import { NotifierSchema } from "./notifier.ts";
import { ExecutorPluginSchema, SourcePluginSchema } from "./plugins.ts";

/**
 * The keywords a CRD schema may carry, in the order they are written: type and description first
 * (what `kubectl explain` shows), children last. A keyword not listed here is refused, so nothing the
 * API server would reject or prune (patternProperties, const, $id, ...) slips into a CRD unnoticed.
 */
const KEYWORD_ORDER = [
  "type",
  "description",
  "format",
  "x-kubernetes-int-or-string",
  "anyOf",
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-map-type",
  "required",
  "minLength",
  "maxLength",
  "pattern",
  "minimum",
  "maximum",
  "minItems",
  "maxItems",
  "minProperties",
  "maxProperties",
  "x-kubernetes-list-type",
  "x-kubernetes-list-map-keys",
  "enum",
  "default",
  "x-kubernetes-validations",
  "properties",
  "items",
  "additionalProperties",
] as const;

/** A TypeBox schema as plain JSON in KEYWORD_ORDER, TypeBox's own (symbol) keys dropped. */
function toCrdSchema(schema: TSchema | JsonSchema, path: string): JsonSchema {
  const unknown = Object.keys(schema).filter((key) => !(KEYWORD_ORDER as readonly string[]).includes(key));
  if (unknown.length > 0) throw new Error(`${path || "(root)"}: keywords a CRD cannot carry: ${unknown}`);
  const out: JsonSchema = {};
  for (const key of KEYWORD_ORDER) {
    const value = (schema as Record<string, unknown>)[key];
    if (value === undefined) continue;
    if (key === "properties") {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, TSchema>).map(([name, child]) => [
          name,
          toCrdSchema(child, `${path}.${name}`),
        ]),
      );
    } else if (key === "items" || (key === "additionalProperties" && typeof value === "object")) {
      out[key] = toCrdSchema(value as TSchema, `${path}[]`);
    } else (out as Record<string, unknown>)[key] = structuredClone(value);
  }
  return out;
}

/**
 * The openAPIV3Schema of a kind. apiVersion, kind and metadata are required in the TypeScript types
 * (every object read back has them) but not in the CRD: the API server fills and checks them itself.
 */
export function openApiSchema(kindSchema: TSchema): JsonSchema {
  const schema = toCrdSchema(kindSchema, "");
  const serverOwned = ["apiVersion", "kind", "metadata"];
  schema.required = (schema.required as string[]).filter((field) => !serverOwned.includes(field));
  return schema;
}

interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
  /** 1: shown only by `kubectl get -o wide`, so that the default table fits an 80-column terminal. */
  priority?: number;
}

const readyColumns: PrinterColumn[] = [
  {
    name: "Ready",
    type: "string",
    jsonPath: '.status.conditions[?(@.type=="Ready")].status',
    description: "Status of the Ready condition.",
  },
  {
    name: "Reason",
    type: "string",
    jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
    description: "Reason of the Ready condition.",
  },
];
const ageColumn: PrinterColumn = { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" };
const modeColumn: PrinterColumn = {
  name: "Mode",
  type: "string",
  jsonPath: ".status.mode",
  description: "Runtime mode in use.",
};

interface KindDefinition {
  kind: string;
  plural: string;
  shortName: string;
  schema: TSchema;
  columns: PrinterColumn[];
}

const KINDS: KindDefinition[] = [
  {
    kind: "SourcePlugin",
    plural: "sourceplugins",
    shortName: "srcp",
    schema: SourcePluginSchema,
    columns: [
      ...readyColumns,
      modeColumn,
      {
        name: "Endpoint",
        type: "string",
        jsonPath: ".status.endpoint",
        description: "Where Patchbay reaches the plugin.",
        // A Service's DNS name and port is longer than all the other columns together.
        priority: 1,
      },
      ageColumn,
    ],
  },
  {
    kind: "ExecutorPlugin",
    plural: "executorplugins",
    shortName: "exp",
    schema: ExecutorPluginSchema,
    columns: [
      ...readyColumns,
      modeColumn,
      {
        name: "Prefixes",
        type: "string",
        jsonPath: ".spec.prefixes",
        description: "Command prefixes it answers.",
      },
      ageColumn,
    ],
  },
  {
    kind: "Notifier",
    plural: "notifiers",
    shortName: "ntf",
    schema: NotifierSchema,
    columns: [
      { name: "Type", type: "string", jsonPath: ".spec.type", description: "Kind of channel." },
      ...readyColumns,
      ageColumn,
    ],
  },
  {
    kind: "Action",
    plural: "actions",
    shortName: "act",
    schema: ActionSchema,
    columns: [
      {
        name: "Result",
        type: "string",
        jsonPath: ".spec.result.mode",
        description: "Where the output goes: attach or followUp.",
      },
      ...readyColumns,
      // Long: for -o wide, so that the default table fits 80 columns.
      {
        name: "Command",
        type: "string",
        jsonPath: ".spec.command",
        description: "The command template.",
        priority: 1,
      },
      ageColumn,
    ],
  },
];

export interface CustomResourceDefinition {
  /** Where `npm run crds` writes it, relative to the repository root. */
  file: string;
  kind: string;
  crd: Record<string, unknown>;
}

/** The CRDs, in the order crds/kustomization.yaml lists them. */
export function customResourceDefinitions(): CustomResourceDefinition[] {
  return KINDS.map(({ kind, plural, shortName, schema, columns }) => ({
    file: `crds/${GROUP}_${plural}.yaml`,
    kind,
    crd: {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: `${plural}.${GROUP}` },
      spec: {
        group: GROUP,
        names: {
          kind,
          listKind: `${kind}List`,
          plural,
          singular: kind.toLowerCase(),
          shortNames: [shortName],
          categories: ["patchbay"],
        },
        scope: "Namespaced",
        versions: [
          {
            name: VERSION,
            served: true,
            storage: true,
            subresources: { status: {} },
            additionalPrinterColumns: columns,
            schema: { openAPIV3Schema: openApiSchema(schema) },
          },
        ],
      },
    },
  }));
}
