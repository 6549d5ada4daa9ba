/**
 * Structural-schema handling for custom resources, as the API server does on every write:
 * defaulting, pruning unknown fields, then validation. CEL rules (`x-kubernetes-validations`) are
 * not evaluated; messages follow the real server's wording closely but not byte for byte.
 */

import type { StatusCause } from "./errors.ts";
import { deepEqual, isObject, toJson } from "./objects.ts";
import type { JsonObject } from "./objects.ts";

function schemaOf(value: unknown): JsonObject | undefined {
  return isObject(value) ? value : undefined;
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function typeMatches(type: unknown, value: unknown): boolean {
  const actual = typeName(value);
  if (type === undefined) return true;
  if (type === "number") return actual === "number" || actual === "integer";
  return type === actual;
}

function quote(value: unknown): string {
  return typeof value === "string" ? `"${value}"` : JSON.stringify(value);
}

class Walker {
  readonly causes: StatusCause[] = [];
  private readonly prune: boolean;

  constructor(prune: boolean) {
    this.prune = prune;
  }

  private fail(field: string, reason: string, message: string): void {
    this.causes.push({ reason, message, field });
  }

  /** Validates (and, when pruning, defaults and prunes) `value` in place, collecting causes. */
  visit(schema: JsonObject, value: unknown, path: string): void {
    if (value === null) {
      if (schema.nullable !== true) {
        const type = String(schema.type ?? "object");
        this.fail(
          path,
          "FieldValueTypeInvalid",
          `Invalid value: "null": ${path} in body must be of type ${type}: "null"`,
        );
      }
      return;
    }
    if (schema["x-kubernetes-int-or-string"] === true) {
      if (!(typeof value === "string" || Number.isInteger(value))) {
        this.fail(
          path,
          "FieldValueTypeInvalid",
          `Invalid value: ${quote(value)}: ${path} in body must be of type int-or-string: "${typeName(value)}"`,
        );
      }
    } else if (!typeMatches(schema.type, value)) {
      this.fail(
        path,
        "FieldValueTypeInvalid",
        `Invalid value: "${typeName(value)}": ${path} in body must be of type ${String(schema.type)}: "${typeName(value)}"`,
      );
      return;
    }
    this.checkEnum(schema, value, path);
    this.checkCombinators(schema, value, path);
    if (Array.isArray(value)) this.visitArray(schema, value, path);
    else if (isObject(value)) this.visitObject(schema, value, path);
    else if (typeof value === "string") this.checkString(schema, value, path);
    else if (typeof value === "number") this.checkNumber(schema, value, path);
  }

  visitObject(schema: JsonObject, obj: JsonObject, path: string, skip: readonly string[] = []): void {
    const properties = schemaOf(schema.properties) ?? {};
    const additional = schemaOf(schema.additionalProperties);
    const preserve =
      schema["x-kubernetes-preserve-unknown-fields"] === true ||
      schema["x-kubernetes-embedded-resource"] === true ||
      schema.additionalProperties === true;
    if (this.prune) this.applyDefaults(properties, obj);
    for (const key of Object.keys(obj)) {
      if (skip.includes(key)) continue;
      const child = path ? `${path}.${key}` : key;
      const propertySchema = schemaOf(properties[key]) ?? additional;
      if (propertySchema) this.visit(propertySchema, obj[key], child);
      else if (!preserve && this.prune) delete obj[key];
    }
    const required = Array.isArray(schema.required) ? schema.required : [];
    for (const key of required) {
      if (typeof key === "string" && obj[key] === undefined) {
        this.fail(path ? `${path}.${key}` : key, "FieldValueRequired", "Required value");
      }
    }
    this.checkCount(schema, Object.keys(obj).length, path, "minProperties", "maxProperties", "properties");
  }

  private applyDefaults(properties: JsonObject, obj: JsonObject): void {
    for (const [key, propertySchema] of Object.entries(properties)) {
      const schema = schemaOf(propertySchema);
      if (schema && schema.default !== undefined && obj[key] === undefined) obj[key] = toJson(schema.default);
    }
  }

  private visitArray(schema: JsonObject, items: unknown[], path: string): void {
    const itemSchema = schemaOf(schema.items);
    if (itemSchema) items.forEach((item, i) => this.visit(itemSchema, item, `${path}[${i}]`));
    this.checkCount(schema, items.length, path, "minItems", "maxItems", "items");
    if (schema["x-kubernetes-list-type"] === "set") {
      items.forEach((item, i) => {
        if (items.findIndex((other) => deepEqual(other, item)) !== i) {
          this.fail(`${path}[${i}]`, "FieldValueDuplicate", `Duplicate value: ${quote(item)}`);
        }
      });
    }
  }

  private checkCount(
    schema: JsonObject,
    count: number,
    path: string,
    minKey: string,
    maxKey: string,
    what: string,
  ): void {
    const min = schema[minKey];
    const max = schema[maxKey];
    if (typeof min === "number" && count < min) {
      this.fail(
        path,
        "FieldValueInvalid",
        `Invalid value: ${count}: ${path} in body should have at least ${min} ${what}`,
      );
    }
    if (typeof max === "number" && count > max) {
      this.fail(path, "FieldValueTooMany", `Too many: ${count}: must have at most ${max} ${what}`);
    }
  }

  private checkEnum(schema: JsonObject, value: unknown, path: string): void {
    if (!Array.isArray(schema.enum)) return;
    if (!schema.enum.some((allowed) => deepEqual(allowed, value))) {
      const supported = schema.enum.map(quote).join(", ");
      this.fail(
        path,
        "FieldValueNotSupported",
        `Unsupported value: ${quote(value)}: supported values: ${supported}`,
      );
    }
  }

  private checkString(schema: JsonObject, value: string, path: string): void {
    const length = [...value].length;
    if (typeof schema.maxLength === "number" && length > schema.maxLength) {
      this.fail(path, "FieldValueTooLong", `Too long: may not be more than ${schema.maxLength} bytes`);
    }
    if (typeof schema.minLength === "number" && length < schema.minLength) {
      this.fail(
        path,
        "FieldValueInvalid",
        `Invalid value: ${quote(value)}: ${path} in body should be at least ${schema.minLength} chars long`,
      );
    }
    if (typeof schema.pattern === "string" && !new RegExp(schema.pattern, "u").test(value)) {
      this.fail(
        path,
        "FieldValueInvalid",
        `Invalid value: ${quote(value)}: ${path} in body should match '${schema.pattern}'`,
      );
    }
  }

  private checkNumber(schema: JsonObject, value: number, path: string): void {
    const { minimum, maximum } = schema;
    if (typeof minimum === "number") {
      const ok = schema.exclusiveMinimum === true ? value > minimum : value >= minimum;
      if (!ok) {
        const op = schema.exclusiveMinimum === true ? "greater than" : "greater than or equal to";
        this.fail(
          path,
          "FieldValueInvalid",
          `Invalid value: ${value}: ${path} in body should be ${op} ${minimum}`,
        );
      }
    }
    if (typeof maximum === "number") {
      const ok = schema.exclusiveMaximum === true ? value < maximum : value <= maximum;
      if (!ok) {
        const op = schema.exclusiveMaximum === true ? "less than" : "less than or equal to";
        this.fail(
          path,
          "FieldValueInvalid",
          `Invalid value: ${value}: ${path} in body should be ${op} ${maximum}`,
        );
      }
    }
  }

  /** allOf/anyOf/oneOf/not only validate (structural schemas forbid them from adding fields). */
  private checkCombinators(schema: JsonObject, value: unknown, path: string): void {
    const passes = (sub: unknown): boolean => {
      const walker = new Walker(false);
      const s = schemaOf(sub);
      if (s) walker.visit(s, toJson(value), path);
      return walker.causes.length === 0;
    };
    if (Array.isArray(schema.allOf) && !schema.allOf.every(passes)) {
      this.fail(
        path,
        "FieldValueInvalid",
        `Invalid value: ${quote(value)}: ${path} in body must match all schemas (allOf)`,
      );
    }
    if (Array.isArray(schema.anyOf) && !schema.anyOf.some(passes)) {
      this.fail(
        path,
        "FieldValueInvalid",
        `Invalid value: ${quote(value)}: ${path} in body must match at least one schema (anyOf)`,
      );
    }
    if (Array.isArray(schema.oneOf) && schema.oneOf.filter(passes).length !== 1) {
      this.fail(
        path,
        "FieldValueInvalid",
        `Invalid value: ${quote(value)}: ${path} in body must match exactly one schema (oneOf)`,
      );
    }
    if (schema.not !== undefined && passes(schema.not)) {
      this.fail(
        path,
        "FieldValueInvalid",
        `Invalid value: ${quote(value)}: ${path} in body must not match the schema (not)`,
      );
    }
  }
}

/**
 * Defaults, prunes and validates a custom resource against its CRD version schema, in place.
 * apiVersion, kind and metadata are left to the generic checks, as on the real server.
 */
export function applyStructuralSchema(schema: JsonObject, obj: JsonObject): StatusCause[] {
  const walker = new Walker(true);
  walker.visitObject(schema, obj, "", ["apiVersion", "kind", "metadata"]);
  return walker.causes;
}

/** Validates `value` against `schema` without defaulting or pruning (used for a CRD's default values). */
export function validateAgainstSchema(schema: JsonObject, value: unknown, path: string): StatusCause[] {
  const walker = new Walker(false);
  walker.visit(schema, toJson(value), path);
  return walker.causes;
}
