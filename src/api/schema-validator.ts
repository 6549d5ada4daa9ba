/**
 * Checks an object against a CRD's openAPIV3Schema the way the API server does, offline, for
 * `patchbay local` and the operator: JSON Schema keywords through ajv; unknown fields refused (what
 * `kubectl apply` asks for with its default --validate=strict); `x-kubernetes-list-type: set` as
 * unique items and `map` as unique keys; int-or-string; `x-kubernetes-validations` rules run by the
 * CEL subset in cel.ts and reported with their message. As on the API server, CEL rules are not
 * reported when the object has the wrong types somewhere (their answers would be noise).
 * Not reproduced: defaulting and pruning, CEL cost limits, transition rules (oldSelf), metadata
 * validation beyond the root CEL rules.
 */
import { Ajv, type AnySchemaObject, type ErrorObject } from "ajv";
import addFormats from "ajv-formats";
import { CelError, evaluateCel, type CelValue } from "./cel.ts";

export type JsonSchema = Record<string, unknown> & {
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
};

interface Rule {
  rule: string;
  message?: string;
}

type KeywordValidator = { errors?: Partial<ErrorObject>[] };

function createAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, verbose: true });
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
          if (!(error instanceof CelError)) throw error;
          return [`rule ${rule} failed to evaluate: ${error.message}`];
        }
      });
      (celRules as KeywordValidator).errors = failures.map((message) => ({
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
      (uniqueKeys as KeywordValidator).errors = ok
        ? []
        : [{ keyword: "x-kubernetes-list-map-keys", message: `duplicate entries for key ${keys.join(",")}` }];
      return ok;
    },
  });
  return ajv;
}

/** The schema as ajv sees it: closed objects, sets as unique items, int-or-string as two types. */
function toAjvSchema(schema: JsonSchema): JsonSchema {
  const copy: JsonSchema = { ...schema };
  delete copy.default;
  if (copy["x-kubernetes-list-type"] === "set") copy.uniqueItems = true;
  if (copy["x-kubernetes-int-or-string"] === true) {
    delete copy.anyOf;
    copy.type = ["integer", "string"];
  }
  if (copy.properties) {
    copy.properties = Object.fromEntries(
      Object.entries(copy.properties).map(([key, child]) => [key, toAjvSchema(child)]),
    );
    if (!copy["x-kubernetes-preserve-unknown-fields"] && copy.additionalProperties === undefined) {
      copy.additionalProperties = false;
    }
  }
  if (copy.items) copy.items = toAjvSchema(copy.items);
  if (typeof copy.additionalProperties === "object")
    copy.additionalProperties = toAjvSchema(copy.additionalProperties);
  return copy;
}

const TYPE_NAMES: Record<string, string> = {
  object: "an object",
  array: "a list",
  string: "a string",
  integer: "an integer",
  number: "a number",
  boolean: "true or false",
};

/** `spec.env[0].name` from the instance path, with list indexes in brackets. */
function fieldPath(root: string, instancePath: string, data: unknown): string {
  let path = root;
  let node = data;
  for (const raw of instancePath.split("/").slice(1)) {
    const segment = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    path = Array.isArray(node) ? `${path}[${segment}]` : path ? `${path}.${segment}` : segment;
    node = (node as Record<string, unknown> | undefined)?.[segment];
  }
  return path || "(root)";
}

function describeError(error: ErrorObject, root: string, data: unknown): string {
  const at = fieldPath(root, error.instancePath, data);
  const got = ` (got ${JSON.stringify(error.data)})`;
  switch (error.keyword) {
    case "required":
      return `${at === "(root)" ? "" : `${at}.`}${String(error.params.missingProperty)}: required`;
    case "additionalProperties":
      return `${at === "(root)" ? "" : `${at}.`}${String(error.params.additionalProperty)}: unknown field`;
    case "type": {
      const types = ([] as string[]).concat(error.params.type as string | string[]);
      return `${at}: must be ${types.map((type) => TYPE_NAMES[type] ?? type).join(" or ")}`;
    }
    case "enum":
      return `${at}: must be one of ${(error.params.allowedValues as unknown[]).map(String).join(", ")}${got}`;
    case "uniqueItems":
      return `${at}: must not list ${JSON.stringify((error.data as unknown[])[error.params.i as number])} twice`;
    case "x-kubernetes-validations":
    case "x-kubernetes-list-map-keys":
      return `${at}: ${error.message}`;
    case "minItems":
    case "maxItems":
    case "minProperties":
    case "maxProperties":
      return `${at}: ${error.message}`;
    default:
      return `${at}: ${error.message}${got}`;
  }
}

export interface SchemaValidator {
  /**
   * Problems as "field.path: what is wrong", empty when the object is valid. `root` names the
   * object's own path in messages (e.g. "spec" when validating a spec alone).
   */
  validate(object: unknown, root?: string): string[];
}

export function schemaValidator(openAPIV3Schema: JsonSchema): SchemaValidator {
  const check = createAjv().compile(toAjvSchema(openAPIV3Schema) as AnySchemaObject);
  return {
    validate(object, root = "") {
      if (check(object)) return [];
      const errors = check.errors ?? [];
      // The API server runs CEL rules only when no value has the wrong type (hasBlockingErr).
      const wrongType = new Set(errors.filter((e) => e.keyword === "type").map((e) => e.instancePath));
      return (
        errors
          .filter((error) => !(wrongType.size > 0 && error.keyword === "x-kubernetes-validations"))
          // A value of the wrong type fails its format too; the type says it all.
          .filter((error) => !(error.keyword === "format" && wrongType.has(error.instancePath)))
          .map((error) => describeError(error, root, object))
      );
    },
  };
}
