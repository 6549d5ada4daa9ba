/**
 * CustomResourceDefinitions: turning one into served resource types, validating it, and the
 * status the real apiextensions server reports (NamesAccepted and Established, immediately).
 */

import { validateCrdSchemas } from "./crd-schema-rules.ts";
import type { StatusCause } from "./errors.ts";
import { evaluateJsonPath } from "./jsonpath.ts";
import { isObject, timestamp } from "./objects.ts";
import type { JsonObject, KubeObject } from "./objects.ts";
import { standardVerbs } from "./registry.ts";
import type { PrinterColumn, ResourceHooks, ResourceType } from "./registry.ts";
import { ageColumn, nameColumn } from "./table.ts";

interface CrdNames {
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  shortNames: string[];
  categories: string[];
}

function obj(value: unknown): JsonObject {
  return isObject(value) ? value : {};
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function versionsOf(crd: KubeObject): JsonObject[] {
  const versions = obj(crd.spec).versions;
  return Array.isArray(versions) ? versions.filter(isObject) : [];
}

function namesOf(crd: KubeObject): CrdNames {
  const names = obj(obj(crd.spec).names);
  const kind = String(names.kind ?? "");
  return {
    plural: String(names.plural ?? ""),
    singular: String(names.singular ?? kind.toLowerCase()),
    kind,
    listKind: String(names.listKind ?? `${kind}List`),
    shortNames: strings(names.shortNames),
    categories: strings(names.categories),
  };
}

function printerColumn(definition: JsonObject): PrinterColumn {
  const jsonPath = String(definition.jsonPath ?? "");
  const column: PrinterColumn = {
    name: String(definition.name ?? ""),
    type: String(definition.type ?? "string"),
    value: (o) => {
      const values = evaluateJsonPath(o, jsonPath);
      if (values.length === 0) return undefined;
      if (values.length === 1) return values[0];
      return values.map((v) => (typeof v === "object" ? JSON.stringify(v) : String(v))).join(",");
    },
  };
  if (typeof definition.format === "string") column.format = definition.format;
  if (typeof definition.description === "string") column.description = definition.description;
  if (typeof definition.priority === "number") column.priority = definition.priority;
  return column;
}

/** One served resource type per served version of the CRD. */
function resourceTypesForCrd(crd: KubeObject): ResourceType[] {
  const spec = obj(crd.spec);
  const group = String(spec.group ?? "");
  const names = namesOf(crd);
  return versionsOf(crd)
    .filter((v) => v.served !== false)
    .map((v) => {
      const printerColumns = Array.isArray(v.additionalPrinterColumns)
        ? v.additionalPrinterColumns.filter(isObject).map(printerColumn)
        : [];
      const selectable = Array.isArray(v.selectableFields) ? v.selectableFields.filter(isObject) : [];
      const rt: ResourceType = {
        group,
        version: String(v.name ?? ""),
        ...names,
        namespaced: spec.scope !== "Cluster",
        verbs: standardVerbs,
        statusSubresource: isObject(obj(v.subresources).status),
        custom: true,
        storage: `${group}/${names.plural}`,
        storageVersion: v.storage === true,
        returnDeletedObject: false,
        nameRule: "subdomain",
        selectableFields: selectable.map((f) => String(f.jsonPath ?? "").replace(/^\./, "")),
        columns: [nameColumn, ...(printerColumns.length > 0 ? printerColumns : [ageColumn])],
      };
      const schema = obj(v.schema).openAPIV3Schema;
      if (isObject(schema)) rt.schema = schema;
      return rt;
    });
}

function validateCrd(crd: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const spec = obj(crd.spec);
  const group = String(spec.group ?? "");
  const names = namesOf(crd);
  const invalid = (field: string, value: unknown, why: string): void => {
    causes.push({
      reason: "FieldValueInvalid",
      field,
      message: `Invalid value: ${JSON.stringify(value)}: ${why}`,
    });
  };
  const required = (field: string): void => {
    causes.push({ reason: "FieldValueRequired", field, message: "Required value" });
  };
  if (!group) required("spec.group");
  else if (!group.includes(".")) invalid("spec.group", group, "should be a domain with at least one dot");
  if (!names.plural) required("spec.names.plural");
  if (!names.kind) required("spec.names.kind");
  if (crd.metadata.name !== `${names.plural}.${group}`) {
    invalid("metadata.name", crd.metadata.name, 'must be spec.names.plural+"."+spec.group');
  }
  if (spec.scope !== "Namespaced" && spec.scope !== "Cluster") {
    causes.push({
      reason: "FieldValueNotSupported",
      field: "spec.scope",
      message: `Unsupported value: ${JSON.stringify(spec.scope ?? "")}: supported values: "Cluster", "Namespaced"`,
    });
  }
  const versions = versionsOf(crd);
  if (versions.length === 0) required("spec.versions");
  if (versions.filter((v) => v.storage === true).length !== 1) {
    invalid(
      "spec.versions",
      versions.map((v) => v.name),
      "must have exactly one version marked as storage version",
    );
  }
  versions.forEach((v, i) => {
    if (!isObject(obj(v.schema).openAPIV3Schema)) {
      causes.push({
        reason: "FieldValueRequired",
        field: `spec.versions[${i}].schema.openAPIV3Schema`,
        message: "Required value: schemas are required",
      });
    }
  });
  // What a real server refuses in schemas and printer columns (see crd-schema-rules.ts).
  causes.push(...validateCrdSchemas(versions));
  return causes;
}

function crdStatus(crd: KubeObject, previous?: KubeObject): JsonObject {
  const now = timestamp();
  const storage = versionsOf(crd).find((v) => v.storage === true)?.name;
  const stored = new Set(strings(obj(previous?.status).storedVersions));
  if (typeof storage === "string") stored.add(storage);
  const condition = (type: string, reason: string, message: string): JsonObject => ({
    type,
    status: "True",
    lastTransitionTime: now,
    reason,
    message,
  });
  return {
    conditions: [
      condition("NamesAccepted", "NoConflicts", "no conflicts found"),
      condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
    ],
    acceptedNames: namesOf(crd),
    storedVersions: [...stored],
  };
}

function groupAndPlural(crd: KubeObject): { group: string; plural: string } {
  return { group: String(obj(crd.spec).group ?? ""), plural: namesOf(crd).plural };
}

/** Hooks that make a stored CRD serve (or stop serving) its custom resources. */
export const crdHooks: ResourceHooks = {
  prepareCreate(crd) {
    crd.status = crdStatus(crd);
  },
  prepareUpdate(next, previous) {
    next.status = crdStatus(next, previous);
  },
  validate: validateCrd,
  afterCommit(type, crd, ctx) {
    const { group, plural } = groupAndPlural(crd);
    ctx.registry.unregister(group, plural);
    if (type === "DELETED") {
      ctx.dropStorage(`${group}/${plural}`);
      return;
    }
    for (const rt of resourceTypesForCrd(crd)) ctx.registry.register(rt);
  },
};
