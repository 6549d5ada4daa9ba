/**
 * TypeBox builders for the shapes a Kubernetes structural schema allows and TypeBox would otherwise
 * write differently: TypeBox renders a union of literals as `anyOf` of `const`, a Record as
 * `patternProperties`, and an unknown as `{}` — all of which an API server refuses or prunes. These
 * builders emit what the CRD needs (`enum`, `additionalProperties`, int-or-string, preserved fields)
 * and still give `Static<>` the TypeScript type.
 */
import { Type, type SchemaOptions, type Static, type TSchema, type TUnsafe } from "@sinclair/typebox";

/** One CEL rule of `x-kubernetes-validations`, with the message the API server returns. */
export interface CelRule {
  rule: string;
  message: string;
}

/** A string limited to `values`, emitted as `type: string` + `enum`. */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: SchemaOptions = {},
): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ ...options, type: "string", enum: [...values] });
}

/** A string fixed to one value in TypeScript (apiVersion, kind) that the CRD declares as a plain string. */
export function StringLiteral<const T extends string>(options: SchemaOptions = {}): TUnsafe<T> {
  return Type.Unsafe<T>({ ...options, type: "string" });
}

/** A map from string keys to `value`, emitted as `type: object` + `additionalProperties`. */
export function StringMap<V extends TSchema>(
  value: V,
  options: SchemaOptions = {},
): TUnsafe<Record<string, Static<V>>> {
  return Type.Unsafe<Record<string, Static<V>>>({ ...options, type: "object", additionalProperties: value });
}

/** A free-form object the API server keeps as it is (no pruning); TypeScript sees `unknown`. */
export function PreservedObject(options: SchemaOptions = {}): TUnsafe<unknown> {
  return Type.Unsafe<unknown>({ ...options, type: "object", "x-kubernetes-preserve-unknown-fields": true });
}

/**
 * An integer or a string (a resource quantity), the one place a structural schema may omit `type`:
 * `x-kubernetes-int-or-string` with exactly this `anyOf`.
 */
export function IntOrString(options: SchemaOptions = {}): TUnsafe<number | string> {
  return Type.Unsafe<number | string>({
    ...options,
    "x-kubernetes-int-or-string": true,
    anyOf: [{ type: "integer" }, { type: "string" }],
  });
}

/** Object metadata: the API server owns its schema, and refuses anything here but `type: object`. */
export function ServerOwnedObject<T>(): TUnsafe<T> {
  return Type.Unsafe<T>({ type: "object" });
}
