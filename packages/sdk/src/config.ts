/** Config validation against the JSON Schema a plugin declares; shared by the SDK and the host. */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";

// ajv-formats is CommonJS with a default export; under ESM interop it arrives one level down.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

export type JsonSchema = Record<string, unknown> | boolean;

export class ConfigError extends Error {
  override name = "ConfigError";
}

export interface ConfigValidator {
  /** Returns the config with schema defaults applied, or throws ConfigError naming every problem. */
  validate(config: unknown): unknown;
}

/** Compiles a schema once; an invalid schema is itself a ConfigError. */
export function compileConfigSchema(schema: JsonSchema | undefined): ConfigValidator {
  if (schema === undefined || schema === true) return { validate: (config) => config ?? {} };
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
  addFormats(ajv);
  let check: ValidateFunction;
  try {
    check = ajv.compile(schema);
  } catch (err) {
    throw new ConfigError(`the plugin's config schema is not a valid JSON Schema: ${(err as Error).message}`);
  }
  return {
    validate(config: unknown) {
      const copy = structuredClone(config ?? {});
      if (!check(copy)) throw new ConfigError(describeSchemaErrors(check.errors ?? []));
      return copy;
    },
  };
}

/** "config.intervalSeconds must be >= 1; config must have required property 'url'" */
export function describeSchemaErrors(errors: ErrorObject[]): string {
  return errors
    .map((e) => {
      const where = `config${e.instancePath.replace(/\//g, ".")}`;
      if (e.keyword === "additionalProperties") {
        return `${where} has unknown property '${String(e.params.additionalProperty)}'`;
      }
      return `${where} ${e.message ?? "is invalid"}`;
    })
    .join("; ");
}

export function parseConfigJson(text: string): unknown {
  if (text === "") return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config is not valid JSON: ${(err as Error).message}`);
  }
}
