/**
 * Compares a CRD schema with the TypeScript type the code reads, field for field, through the
 * TypeScript checker: the same property names, the same required ones, compatible primitive types,
 * string-literal unions equal to the schema's enum. `unknown` must be a preserve-unknown-fields node.
 */
import ts from "typescript";
import { join } from "node:path";
import { ROOT } from "./kubectl.ts";
import type { JsonSchema } from "./crd-validator.ts";

const ENTRY = join(ROOT, "src/api/v1alpha1/index.ts");

export interface ApiTypes {
  /** Differences between the exported type `name` and `schema`, as "path: problem". */
  compare(name: string, schema: JsonSchema, path: string): string[];
}

export function loadApiTypes(): ApiTypes {
  const program = ts.createProgram([ENTRY], {
    strict: true,
    noEmit: true,
    allowImportingTsExtensions: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
    types: [],
  });
  const checker = program.getTypeChecker();
  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(ENTRY)!)!;
  const exported = new Map(checker.getExportsOfModule(moduleSymbol).map((s) => [s.name, s]));

  function walk(type: ts.Type, schema: JsonSchema | undefined, path: string, problems: string[]): void {
    if (!schema) return void problems.push(`${path}: in the TypeScript type but not in the schema`);
    const t = checker.getNonNullableType(type);
    const flags = t.flags;
    if (flags & ts.TypeFlags.Unknown || flags & ts.TypeFlags.Any) {
      if (schema["x-kubernetes-preserve-unknown-fields"] !== true)
        problems.push(`${path}: free-form in TS, not in schema`);
      return;
    }
    if (flags & ts.TypeFlags.BooleanLike) {
      if (schema.type !== "boolean")
        problems.push(`${path}: boolean in TS, ${String(schema.type)} in schema`);
      return;
    }
    if (flags & ts.TypeFlags.NumberLike) {
      if (schema.type !== "integer" && schema.type !== "number")
        problems.push(`${path}: number in TS, ${String(schema.type)} in schema`);
      return;
    }
    const literals = t.isUnion() ? t.types : [t];
    if (literals.every((member) => member.isStringLiteral())) {
      const values = literals.map((member) => (member as ts.StringLiteralType).value).sort();
      const enumValues = ((schema.enum as string[] | undefined) ?? []).slice().sort();
      if (JSON.stringify(values) !== JSON.stringify(enumValues)) {
        problems.push(
          `${path}: TS allows ${values.join("|")}, schema enum is ${enumValues.join("|") || "absent"}`,
        );
      }
      return;
    }
    if (flags & ts.TypeFlags.String) {
      const intOrString = schema["x-kubernetes-int-or-string"] === true;
      if (schema.type !== "string" && !intOrString)
        problems.push(`${path}: string in TS, ${String(schema.type)} in schema`);
      return;
    }
    if (checker.isArrayType(t)) {
      if (schema.type !== "array")
        return void problems.push(`${path}: array in TS, ${String(schema.type)} in schema`);
      return walk(checker.getTypeArguments(t as ts.TypeReference)[0]!, schema.items, `${path}[]`, problems);
    }
    if (schema.type !== "object")
      return void problems.push(`${path}: object in TS, ${String(schema.type)} in schema`);
    const index = checker.getIndexInfoOfType(t, ts.IndexKind.String);
    const properties = checker.getPropertiesOfType(t);
    if (index && properties.length === 0) {
      const values = schema.additionalProperties;
      if (typeof values !== "object") return void problems.push(`${path}: a map in TS, not in schema`);
      return walk(index.type, values, `${path}{}`, problems);
    }
    const inSchema = Object.keys(schema.properties ?? {});
    for (const name of inSchema) {
      if (!properties.some((p) => p.name === name))
        problems.push(`${path}.${name}: in the schema but not in the TypeScript type`);
    }
    const required = properties
      .filter((p) => !(p.flags & ts.SymbolFlags.Optional))
      .map((p) => p.name)
      .sort();
    const schemaRequired = ((schema.required as string[] | undefined) ?? []).slice().sort();
    if (JSON.stringify(required) !== JSON.stringify(schemaRequired)) {
      problems.push(
        `${path}: required in TS [${required.join(", ")}], in schema [${schemaRequired.join(", ")}]`,
      );
    }
    for (const property of properties) {
      walk(
        checker.getTypeOfSymbol(property),
        schema.properties?.[property.name],
        `${path}.${property.name}`,
        problems,
      );
    }
  }

  return {
    compare(name, schema, path) {
      const symbol = exported.get(name);
      if (!symbol) return [`${name}: not exported from src/api/v1alpha1`];
      const problems: string[] = [];
      walk(checker.getDeclaredTypeOfSymbol(symbol), schema, path, problems);
      return problems;
    },
  };
}
