/**
 * The apiextensions rules a real kube-apiserver (v1.26) applies to a CustomResourceDefinition's
 * schemas and printer columns on create and update, with its error texts, so that a CRD the double
 * accepts is one a real server accepts. Written from reading Kubernetes' own rules
 * (apiextensions-apiserver: pkg/apiserver/schema/validation.go for structural schemas,
 * pkg/apis/apiextensions/validation/validation.go for the rest, pkg/apiserver/schema/defaulting for
 * defaults); not a port of that code.
 *
 * Enforced, with the real server's field paths and texts:
 * - structural schema: a `type` on every node (at the root, for object fields, for array items)
 *   unless `x-kubernetes-int-or-string` or `x-kubernetes-preserve-unknown-fields`; `object` at the
 *   root; `items` on every array; no `additionalProperties` at the root; int-or-string never with
 *   preserve-unknown-fields; `kind` and `apiVersion` strings; `metadata` at the root says nothing but
 *   `type: object` (or restricts name/generateName); inside anyOf/allOf/oneOf/not no type,
 *   description, default, additionalProperties, nullable, title, x-kubernetes-* extensions nor metadata
 *   (the int-or-string `anyOf` excepted). These errors are sorted by text, as the server sorts them.
 * - schema keywords: `additionalProperties` never together with `properties`; `uniqueItems` forbidden;
 *   id, patternProperties, definitions, dependencies, $ref, additionalItems unsupported; `type` one
 *   of the OpenAPI types; `x-kubernetes-preserve-unknown-fields: false` refused; map-type only on
 *   objects (atomic|granular); list-type only on arrays (atomic|set|map); list-map-keys only with
 *   list-type map, naming scalar item properties, no duplicates, each required or defaulted; items
 *   of a set atomic; `x-kubernetes-validations` with a rule and a one-line message.
 * - defaults (only when the schema is structural, as on the server): each default validates against
 *   its own node's schema (CEL rules excluded) and has no field the schema would prune.
 * - printer columns: a name, a type in integer|number|string|boolean|date, a known format, and a
 *   JSONPath that is non-empty and starts with "." (all the v1.26 server checks of a JSONPath).
 * Where the schemas (or columns) of all versions are identical, paths start at spec.validation
 * (spec.additionalPrinterColumns), as the server reports them after folding versions into one.
 *
 * Not enforced: the structural "completeness" rule (every field named in a value validation also
 * specified outside it); regular-expression syntax of `pattern` (Go's RE2 error texts); CEL rules
 * compiling, type-checking and their cost estimate; `x-kubernetes-embedded-resource` rules; defaults
 * inside metadata; names, versions and conversion beyond what crds.ts checks. A default that fails
 * its schema is reported with the double's own schema messages (schema.ts), close to but not byte
 * for byte the server's; the order of several errors of different kinds may differ from the server's.
 */

import type { StatusCause } from "./errors.ts";
import { deepEqual, isObject } from "./objects.ts";
import type { JsonObject } from "./objects.ts";
import { validateAgainstSchema } from "./schema.ts";

type Cause = StatusCause & { field: string };

/** A Go value as field.Error prints it in "Invalid value: <v>". */
function goValue(value: unknown): string {
  if (value === undefined || value === null) return "null";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) {
    return `[]string{${value.map((v) => JSON.stringify(v)).join(", ")}}`;
  }
  return JSON.stringify(value);
}

const required = (field: string, detail: string): Cause => ({
  reason: "FieldValueRequired",
  field,
  message: detail ? `Required value: ${detail}` : "Required value",
});
const forbidden = (field: string, detail: string): Cause => ({
  reason: "FieldValueForbidden",
  field,
  message: `Forbidden: ${detail}`,
});
const invalid = (field: string, value: unknown, detail: string): Cause => ({
  reason: "FieldValueInvalid",
  field,
  message: `Invalid value: ${goValue(value)}: ${detail}`,
});
const notSupported = (field: string, value: unknown, supported: string[]): Cause => ({
  reason: "FieldValueNotSupported",
  field,
  message: `Unsupported value: ${goValue(value)}: supported values: ${supported.map((s) => `"${s}"`).join(", ")}`,
});

const schemaOf = (value: unknown): JsonObject | undefined => (isObject(value) ? value : undefined);
const propertiesOf = (s: JsonObject): Record<string, JsonObject> =>
  Object.fromEntries(
    Object.entries(schemaOf(s.properties) ?? {}).flatMap(([k, v]) => (isObject(v) ? [[k, v]] : [])),
  );
const typeOf = (s: JsonObject | undefined): string => (typeof s?.type === "string" ? s.type : "");

type Level = "root" | "field" | "item";

const INT_OR_STRING_ANY_OF = [{ type: "integer" }, { type: "string" }];

// ---------------------------------------------------------------------------------------------
// Structural schema (apiserver/schema/validation.go)

function structuralInvariants(s: JsonObject, level: Level, path: string): Cause[] {
  const causes: Cause[] = [];
  const type = typeOf(s);
  const items = schemaOf(s.items);
  if (type === "array" && s.items === undefined) causes.push(required(`${path}.items`, "must be specified"));
  if (items) causes.push(...structuralInvariants(items, "item", `${path}.items`));
  for (const [name, child] of Object.entries(propertiesOf(s))) {
    causes.push(...structuralInvariants(child, "field", `${path}.properties[${name}]`));
  }
  const additional = schemaOf(s.additionalProperties);
  if (s.additionalProperties !== undefined && s.additionalProperties !== false) {
    if (level === "root")
      causes.push(forbidden(`${path}.additionalProperties`, "must not be used at the root"));
    if (additional) causes.push(...structuralInvariants(additional, "field", `${path}.additionalProperties`));
  }
  const intOrString = s["x-kubernetes-int-or-string"] === true;
  const preserve = s["x-kubernetes-preserve-unknown-fields"] === true;
  if (intOrString && preserve) {
    causes.push(
      invalid(
        `${path}.x-kubernetes-preserve-unknown-fields`,
        true,
        "must be false if x-kubernetes-int-or-string is true",
      ),
    );
  }
  const skipAnyOf = Array.isArray(s.anyOf) && deepEqual(s.anyOf, INT_OR_STRING_ANY_OF);
  const allOf = Array.isArray(s.allOf) ? s.allOf : [];
  const skipFirstAllOfAnyOf =
    allOf.length >= 1 && isObject(allOf[0]) && deepEqual(allOf[0].anyOf, INT_OR_STRING_ANY_OF);
  causes.push(...valueValidation(s, skipAnyOf, skipFirstAllOfAnyOf, path));
  if (type === "" && !intOrString && !preserve) {
    const where = {
      root: "at the root",
      item: "for specified array items",
      field: "for specified object fields",
    };
    causes.push(required(`${path}.type`, `must not be empty ${where[level]}`));
  }
  if (level === "root" && type !== "" && type !== "object") {
    causes.push(invalid(`${path}.type`, type, "must be object at the root"));
  }
  const properties = propertiesOf(s);
  if (level === "root") {
    for (const meta of ["kind", "apiVersion"]) {
      const child = properties[meta];
      if (child && typeOf(child) !== "string") {
        causes.push(invalid(`${path}.properties[${meta}].type`, typeOf(child), "must be string"));
      }
    }
    const metadata = properties.metadata;
    if (metadata) causes.push(...metadataInvariants(metadata, `${path}.properties[metadata]`));
  }
  return causes;
}

/** At the root, metadata may be `type: object` and may restrict name and generateName, nothing else. */
function metadataInvariants(metadata: JsonObject, path: string): Cause[] {
  const causes: Cause[] = [];
  if (typeOf(metadata) !== "object") causes.push(invalid(`${path}.type`, typeOf(metadata), "must be object"));
  const rest: JsonObject = { ...metadata };
  delete rest.type;
  delete rest.default; // checked with the defaults
  const names = Object.keys(propertiesOf(metadata));
  const onlyNames =
    names.length > 0 && names.length <= 2 && names.every((n) => n === "name" || n === "generateName");
  if (onlyNames) delete rest.properties;
  if (Object.keys(rest).length > 0) {
    causes.push(
      forbidden(
        path,
        "must not specify anything other than name and generateName, but metadata is implicitly specified",
      ),
    );
  }
  return causes;
}

function valueValidation(
  s: JsonObject,
  skipAnyOf: boolean,
  skipFirstAllOfAnyOf: boolean,
  path: string,
): Cause[] {
  const causes: Cause[] = [];
  const list = (key: string) => (Array.isArray(s[key]) ? (s[key] as unknown[]) : []);
  if (!skipAnyOf) {
    list("anyOf").forEach((sub, i) =>
      causes.push(...nestedValueValidation(sub, false, `${path}.anyOf[${i}]`)),
    );
  }
  list("allOf").forEach((sub, i) =>
    causes.push(...nestedValueValidation(sub, skipFirstAllOfAnyOf && i === 0, `${path}.allOf[${i}]`)),
  );
  list("oneOf").forEach((sub, i) => causes.push(...nestedValueValidation(sub, false, `${path}.oneOf[${i}]`)));
  if (s.not !== undefined) causes.push(...nestedValueValidation(s.not, false, `${path}.not`));
  return causes;
}

const NESTED_FORBIDDEN: [key: string, detail: string, present: (v: unknown) => boolean][] = [
  ["type", "must be empty to be structural", (v) => typeof v === "string" && v !== ""],
  ["additionalProperties", "must be undefined to be structural", (v) => v !== undefined],
  ["default", "must be undefined to be structural", (v) => v !== undefined && v !== null],
  ["title", "must be empty to be structural", (v) => typeof v === "string" && v !== ""],
  ["description", "must be empty to be structural", (v) => typeof v === "string" && v !== ""],
  ["nullable", "must be false to be structural", (v) => v === true],
  ["x-kubernetes-preserve-unknown-fields", "must be false to be structural", (v) => v === true],
  ["x-kubernetes-embedded-resource", "must be false to be structural", (v) => v === true],
  ["x-kubernetes-int-or-string", "must be false to be structural", (v) => v === true],
  ["x-kubernetes-list-map-keys", "must be empty to be structural", (v) => Array.isArray(v) && v.length > 0],
  ["x-kubernetes-list-type", "must be undefined to be structural", (v) => v !== undefined],
  ["x-kubernetes-map-type", "must be undefined to be structural", (v) => v !== undefined],
  ["x-kubernetes-validations", "must be empty to be structural", (v) => Array.isArray(v) && v.length > 0],
];

/** Inside anyOf/allOf/oneOf/not only value validations may appear: nothing that shapes the object. */
function nestedValueValidation(value: unknown, skipAnyOf: boolean, path: string): Cause[] {
  const s = schemaOf(value);
  if (!s) return [];
  const causes = valueValidation(s, skipAnyOf, false, path);
  const items = schemaOf(s.items);
  if (items) causes.push(...nestedValueValidation(items, false, `${path}.items`));
  for (const [name, child] of Object.entries(propertiesOf(s))) {
    causes.push(...nestedValueValidation(child, false, `${path}.properties[${name}]`));
  }
  for (const [key, detail, present] of NESTED_FORBIDDEN) {
    if (present(s[key])) causes.push(forbidden(`${path}.${key}`, detail));
  }
  if (propertiesOf(s).metadata) {
    causes.push(forbidden(`${path}.properties[metadata]`, "must not be specified in a nested context"));
  }
  return causes;
}

// ---------------------------------------------------------------------------------------------
// Schema keywords and Kubernetes extensions (apis/apiextensions/validation/validation.go)

const OPENAPI_TYPES = ["array", "boolean", "integer", "number", "object", "string"];
const UNSUPPORTED: [key: string, detail: string][] = [
  ["id", "id is not supported"],
  ["additionalItems", "additionalItems is not supported"],
  ["patternProperties", "patternProperties is not supported"],
  ["definitions", "definitions is not supported"],
  ["dependencies", "dependencies is not supported"],
  ["$ref", "$ref is not supported"],
];

function openApiSchemaRules(s: JsonObject, path: string): Cause[] {
  const causes: Cause[] = [];
  const type = typeOf(s);
  if (type !== "" && !OPENAPI_TYPES.includes(type))
    causes.push(notSupported(`${path}.type`, type, OPENAPI_TYPES));
  for (const [key, detail] of UNSUPPORTED) {
    if (s[key] !== undefined) causes.push(forbidden(`${path}.${key}`, detail));
  }
  if (Array.isArray(s.items)) {
    causes.push(forbidden(`${path}.items`, "items must be a schema object and not an array"));
  }
  if (s.uniqueItems === true) {
    causes.push(
      forbidden(
        `${path}.uniqueItems`,
        "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
      ),
    );
  }
  const properties = propertiesOf(s);
  if (s.additionalProperties !== undefined && Object.keys(properties).length > 0) {
    if (s.additionalProperties === false || isObject(s.additionalProperties)) {
      causes.push(
        forbidden(`${path}.additionalProperties`, "additionalProperties and properties are mutual exclusive"),
      );
    }
  }
  const additional = schemaOf(s.additionalProperties);
  if (additional) causes.push(...openApiSchemaRules(additional, `${path}.additionalProperties`));
  for (const [name, child] of Object.entries(properties)) {
    causes.push(...openApiSchemaRules(child, `${path}.properties[${name}]`));
  }
  if (s.not !== undefined && isObject(s.not)) causes.push(...openApiSchemaRules(s.not, `${path}.not`));
  for (const combinator of ["allOf", "oneOf", "anyOf"]) {
    const list = Array.isArray(s[combinator]) ? (s[combinator] as unknown[]) : [];
    list.forEach((sub, i) => {
      if (isObject(sub)) causes.push(...openApiSchemaRules(sub, `${path}.${combinator}[${i}]`));
    });
  }
  const items = schemaOf(s.items);
  if (items) causes.push(...openApiSchemaRules(items, `${path}.items`));

  if (s["x-kubernetes-preserve-unknown-fields"] === false) {
    causes.push(invalid(`${path}.x-kubernetes-preserve-unknown-fields`, false, "must be true or undefined"));
  }
  const mapType = s["x-kubernetes-map-type"];
  if (mapType !== undefined && type !== "object") {
    causes.push(
      type === ""
        ? required(`${path}.type`, "must be object if x-kubernetes-map-type is specified")
        : invalid(`${path}.type`, type, "must be object if x-kubernetes-map-type is specified"),
    );
  }
  if (mapType !== undefined && mapType !== "atomic" && mapType !== "granular") {
    causes.push(notSupported(`${path}.x-kubernetes-map-type`, mapType, ["atomic", "granular"]));
  }
  const listType = s["x-kubernetes-list-type"];
  if (listType !== undefined && type !== "array") {
    causes.push(
      type === ""
        ? required(`${path}.type`, "must be array if x-kubernetes-list-type is specified")
        : invalid(`${path}.type`, type, "must be array if x-kubernetes-list-type is specified"),
    );
  } else if (listType === "set" && items) {
    if (
      typeOf(items) === "array" &&
      items["x-kubernetes-list-type"] !== undefined &&
      items["x-kubernetes-list-type"] !== "atomic"
    ) {
      causes.push(
        invalid(
          `${path}.items.x-kubernetes-list-type`,
          items["x-kubernetes-list-type"],
          "must be atomic as item of a list with x-kubernetes-list-type=set",
        ),
      );
    }
    if (typeOf(items) === "object" && items["x-kubernetes-map-type"] !== "atomic") {
      // The server prints the item's list type here (nil for an object): "null".
      causes.push(
        invalid(
          `${path}.items.x-kubernetes-map-type`,
          items["x-kubernetes-list-type"],
          "must be atomic as item of a list with x-kubernetes-list-type=set",
        ),
      );
    }
  }
  if (listType !== undefined && !["atomic", "set", "map"].includes(String(listType))) {
    causes.push(notSupported(`${path}.x-kubernetes-list-type`, listType, ["atomic", "set", "map"]));
  }
  const mapKeys = Array.isArray(s["x-kubernetes-list-map-keys"])
    ? (s["x-kubernetes-list-map-keys"] as string[])
    : [];
  if (mapKeys.length > 0) {
    if (listType === undefined) {
      causes.push(
        required(`${path}.x-kubernetes-list-type`, "must be map if x-kubernetes-list-map-keys is non-empty"),
      );
    } else if (listType !== "map") {
      causes.push(
        invalid(
          `${path}.x-kubernetes-list-type`,
          listType,
          "must be map if x-kubernetes-list-map-keys is non-empty",
        ),
      );
    }
  }
  if (listType === "map") {
    if (mapKeys.length === 0) {
      causes.push(
        required(`${path}.x-kubernetes-list-map-keys`, "must not be empty if x-kubernetes-list-type is map"),
      );
    }
    if (s.items === undefined) {
      causes.push(required(`${path}.items`, "must have a schema if x-kubernetes-list-type is map"));
    }
    if (items && typeOf(items) !== "object") {
      causes.push(
        invalid(
          `${path}.items.type`,
          typeOf(items),
          "must be object if parent array's x-kubernetes-list-type is map",
        ),
      );
    }
    if (items && typeOf(items) === "object") {
      const itemProperties = propertiesOf(items);
      const seen = new Set<string>();
      for (const key of mapKeys) {
        const keySchema = itemProperties[key];
        if (keySchema) {
          if (["array", "object"].includes(typeOf(keySchema))) {
            causes.push(
              invalid(
                `${path}.items.properties[${key}].type`,
                typeOf(items),
                "must be a scalar type if parent array's x-kubernetes-list-type is map",
              ),
            );
          }
        } else {
          causes.push(
            invalid(
              `${path}.x-kubernetes-list-map-keys`,
              mapKeys,
              "entries must all be names of item properties",
            ),
          );
        }
        if (seen.has(key)) {
          causes.push(
            invalid(`${path}.x-kubernetes-list-map-keys`, mapKeys, "must not contain duplicate entries"),
          );
        }
        seen.add(key);
      }
    }
  }
  causes.push(...listKeysRequiredOrDefaulted(s, path));
  causes.push(...celRuleShape(s, path));
  return causes;
}

/** Items of set and map lists are never null, and a map list's keys are always there. */
function listKeysRequiredOrDefaulted(s: JsonObject, path: string): Cause[] {
  const listType = s["x-kubernetes-list-type"];
  const items = schemaOf(s.items);
  if (!items || (listType !== "set" && listType !== "map")) return [];
  const causes: Cause[] = [];
  if (items.nullable === true) {
    causes.push(
      forbidden(
        `${path}.items.nullable`,
        `cannot be nullable when x-kubernetes-list-type is ${String(listType)}`,
      ),
    );
  }
  if (listType === "map") {
    const requiredKeys = new Set(Array.isArray(items.required) ? items.required : []);
    const itemProperties = propertiesOf(items);
    for (const key of Array.isArray(s["x-kubernetes-list-map-keys"])
      ? (s["x-kubernetes-list-map-keys"] as string[])
      : []) {
      const keySchema = itemProperties[key];
      if (!keySchema) continue;
      if (!requiredKeys.has(key) && keySchema.default === undefined) {
        causes.push(
          required(
            `${path}.items.properties[${key}].default`,
            "this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property",
          ),
        );
      }
      if (keySchema.nullable === true) {
        causes.push(
          forbidden(
            `${path}.items.properties[${key}].nullable`,
            "this property is in x-kubernetes-list-map-keys, so it cannot be nullable",
          ),
        );
      }
    }
  }
  return causes;
}

function celRuleShape(s: JsonObject, path: string): Cause[] {
  const rules = Array.isArray(s["x-kubernetes-validations"])
    ? (s["x-kubernetes-validations"] as unknown[])
    : [];
  const causes: Cause[] = [];
  rules.forEach((value, i) => {
    const rule = schemaOf(value) ?? {};
    const at = `${path}.x-kubernetes-validations[${i}]`;
    const text = typeof rule.rule === "string" ? rule.rule : "";
    const message = rule.message;
    if (text.trim() === "") causes.push(required(`${at}.rule`, "rule is not specified"));
    if (typeof message === "string" && message.trim() === "") {
      causes.push(invalid(`${at}.message`, message, "message must be non-empty if specified"));
    } else if (typeof message === "string" && /[\r\n]/.test(message)) {
      causes.push(invalid(`${at}.message`, message, "message must not contain line breaks"));
    } else if (message === undefined && /[\r\n]/.test(text)) {
      causes.push(required(`${at}.message`, "message must be specified if rule contains line breaks"));
    }
  });
  return causes;
}

// ---------------------------------------------------------------------------------------------
// Defaults (apiserver/schema/defaulting/validation.go)

/** Fields a value holds that the schema would prune. */
function hasUnknownFields(s: JsonObject, value: unknown): boolean {
  if (s["x-kubernetes-preserve-unknown-fields"] === true) return false;
  if (Array.isArray(value)) {
    const items = schemaOf(s.items);
    return items ? value.some((item) => hasUnknownFields(items, item)) : false;
  }
  if (!isObject(value)) return false;
  const properties = propertiesOf(s);
  const additional = schemaOf(s.additionalProperties);
  return Object.entries(value).some(([key, child]) => {
    const childSchema = properties[key] ?? additional;
    if (childSchema) return hasUnknownFields(childSchema, child);
    return s.additionalProperties !== true;
  });
}

function defaultRules(s: JsonObject, path: string, insideMeta: boolean): Cause[] {
  const causes: Cause[] = [];
  if (s.default !== undefined && s.default !== null && !insideMeta) {
    const at = `${path}.default`;
    if (hasUnknownFields(s, s.default)) causes.push(invalid(at, s.default, "must not have unknown fields"));
    causes.push(...(validateAgainstSchema(s, s.default, at) as Cause[]));
  }
  const properties = propertiesOf(s);
  for (const [name, child] of Object.entries(properties)) {
    const meta = path.endsWith("openAPIV3Schema") && ["metadata", "kind", "apiVersion"].includes(name);
    causes.push(...defaultRules(child, `${path}.properties[${name}]`, insideMeta || meta));
  }
  const items = schemaOf(s.items);
  if (items) causes.push(...defaultRules(items, `${path}.items`, insideMeta));
  const additional = schemaOf(s.additionalProperties);
  if (additional) causes.push(...defaultRules(additional, `${path}.additionalProperties`, insideMeta));
  return causes;
}

// ---------------------------------------------------------------------------------------------
// Printer columns (ValidateCustomResourceColumnDefinition)

const COLUMN_TYPES = ["boolean", "date", "integer", "number", "string"];
const COLUMN_FORMATS = ["byte", "date", "date-time", "double", "float", "int32", "int64", "password"];

function columnRules(column: JsonObject, path: string): Cause[] {
  const causes: Cause[] = [];
  const { name, type, format, jsonPath } = column;
  if (typeof name !== "string" || name === "") causes.push(required(`${path}.name`, ""));
  if (typeof type !== "string" || type === "") {
    causes.push(required(`${path}.type`, `must be one of ${COLUMN_TYPES.join(",")}`));
  } else if (!COLUMN_TYPES.includes(type)) {
    causes.push(invalid(`${path}.type`, type, `must be one of ${COLUMN_TYPES.join(",")}`));
  }
  if (typeof format === "string" && format !== "" && !COLUMN_FORMATS.includes(format)) {
    causes.push(invalid(`${path}.format`, format, `must be one of ${COLUMN_FORMATS.join(",")}`));
  }
  // The internal type calls the field JSONPath, and so do the server's messages.
  if (typeof jsonPath !== "string" || jsonPath === "") causes.push(required(`${path}.JSONPath`, ""));
  else if (!jsonPath.startsWith(".")) {
    causes.push(invalid(`${path}.JSONPath`, jsonPath, "must be a simple json path starting with ."));
  }
  return causes;
}

// ---------------------------------------------------------------------------------------------

/** The causes of a 422 for a CRD's schemas and printer columns; empty when a real server would accept them. */
export function validateCrdSchemas(versions: JsonObject[]): StatusCause[] {
  if (versions.length === 0) return [];
  const causes: Cause[] = [];
  const schemaOfVersion = (v: JsonObject) => schemaOf(schemaOf(v.schema)?.openAPIV3Schema);
  // The server folds identical per-version schemas (and columns) into spec.validation
  // (spec.additionalPrinterColumns) before validating, and names the fields that way.
  const schemasIdentical = versions.every((v) => deepEqual(v.schema, versions[0]!.schema));
  const columnsIdentical = versions.every((v) =>
    deepEqual(v.additionalPrinterColumns, versions[0]!.additionalPrinterColumns),
  );
  const columnSets = columnsIdentical
    ? [{ path: "spec.additionalPrinterColumns", columns: versions[0]!.additionalPrinterColumns }]
    : versions.map((v, i) => ({
        path: `spec.versions[${i}].additionalPrinterColumns`,
        columns: v.additionalPrinterColumns,
      }));
  for (const { path, columns } of columnSets) {
    (Array.isArray(columns) ? columns : []).forEach((column, j) => {
      if (isObject(column)) causes.push(...columnRules(column, `${path}[${j}]`));
    });
  }
  const schemaSets = schemasIdentical
    ? [{ path: "spec.validation.openAPIV3Schema", schema: schemaOfVersion(versions[0]!) }]
    : versions.map((v, i) => ({
        path: `spec.versions[${i}].schema.openAPIV3Schema`,
        schema: schemaOfVersion(v),
      }));
  for (const { path, schema } of schemaSets) {
    if (!schema) continue;
    const structural = structuralInvariants(schema, "root", path).sort((a, b) =>
      `${a.field}: ${a.message}` < `${b.field}: ${b.message}` ? -1 : 1,
    );
    // Defaults are checked only once the schema is structural, as on the server.
    causes.push(...(structural.length > 0 ? structural : defaultRules(schema, path, false)));
    if (schema.nullable === true) {
      causes.push(forbidden(`${path}.nullable`, "nullable cannot be true at the root"));
    }
    causes.push(...openApiSchemaRules(schema, path));
  }
  return causes;
}
