/**
 * Validates an object against a CRD's openAPIV3Schema roughly the way the API server would, offline:
 * JSON Schema keywords through ajv; unknown fields rejected (what `kubectl apply` asks for with its
 * default --validate=strict); `x-kubernetes-list-type: set` as uniqueItems and `map` as unique keys;
 * `x-kubernetes-validations` rules run by the CEL subset in cel.ts, reported with their message.
 * Not reproduced: pruning and defaulting, CEL cost limits, transition rules (oldSelf), metadata
 * validation beyond the root CEL rules.
 */
import { Ajv, type AnySchemaObject, type ErrorObject } from "ajv";
import addFormats from "ajv-formats";
import { evaluateCel, type CelValue } from "./cel.ts";

export type JsonSchema = Record<string, unknown> & {
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
};

interface Rule {
  rule: string;
  message?: string;
}

function createAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats.default(ajv);
  ajv.addFormat("int32", {
    type: "number",
    validate: (n: number) => Number.isInteger(n) && Math.abs(n) < 2 ** 31,
  });
  ajv.addFormat("int64", { type: "number", validate: (n: number) => Number.isSafeInteger(n) });
  ajv.addKeyword({
    keyword: "x-kubernetes-validations",
    schemaType: "array",
    errors: true,
    validate: function celRules(rules: Rule[], data: unknown) {
      const failures = rules.flatMap(({ rule, message }) => {
        try {
          return evaluateCel(rule, data as CelValue) === true ? [] : [message ?? `failed rule: ${rule}`];
        } catch (error) {
          return [`rule ${rule} failed to evaluate: ${(error as Error).message}`];
        }
      });
      (celRules as unknown as { errors: Partial<ErrorObject>[] }).errors = failures.map((message) => ({
        keyword: "x-kubernetes-validations",
        message,
      }));
      return failures.length === 0;
    },
  });
  ajv.addKeyword({
    keyword: "x-kubernetes-list-map-keys",
    schemaType: "array",
    errors: true,
    validate: function uniqueKeys(keys: string[], data: unknown) {
      if (!Array.isArray(data)) return true;
      const seen = new Set(
        data.map((item) => JSON.stringify(keys.map((key) => (item as Record<string, unknown>)[key]))),
      );
      const ok = seen.size === data.length;
      (uniqueKeys as unknown as { errors: Partial<ErrorObject>[] }).errors = ok
        ? []
        : [{ keyword: "x-kubernetes-list-map-keys", message: `duplicate entries for key ${keys.join(",")}` }];
      return ok;
    },
  });
  return ajv;
}

/** The schema as ajv sees it: closed objects, sets as uniqueItems. */
export function toJsonSchema(schema: JsonSchema): JsonSchema {
  const copy: JsonSchema = { ...schema };
  delete copy.default;
  if (copy["x-kubernetes-list-type"] === "set") copy.uniqueItems = true;
  if (copy.properties) {
    copy.properties = Object.fromEntries(
      Object.entries(copy.properties).map(([k, v]) => [k, toJsonSchema(v)]),
    );
    if (!copy["x-kubernetes-preserve-unknown-fields"] && copy.additionalProperties === undefined) {
      copy.additionalProperties = false;
    }
  }
  if (copy.items) copy.items = toJsonSchema(copy.items);
  if (typeof copy.additionalProperties === "object")
    copy.additionalProperties = toJsonSchema(copy.additionalProperties);
  return copy;
}

export interface CrdValidator {
  /** Problems as "path: message", empty when the object is valid. */
  validate(object: unknown): string[];
}

export function crdValidator(openAPIV3Schema: JsonSchema): CrdValidator {
  const check = createAjv().compile(toJsonSchema(openAPIV3Schema) as AnySchemaObject);
  return {
    validate(object) {
      if (check(object)) return [];
      return (check.errors ?? []).map((error) => `${error.instancePath || "/"}: ${error.message}`);
    },
  };
}
