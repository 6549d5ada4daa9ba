/**
 * The rules of SourcePlugin, ExecutorPlugin and Notifier specs for where the API server does not run
 * (`patchbay local`) and for clear conditions in the operator: the very openAPIV3Schema the CRDs
 * carry (schema-validator.ts: structure, limits, CEL rules), plus the few checks a CRD cannot state.
 * Each returns the problems as "spec.field: what is wrong", empty when the spec is valid.
 */
import type { TSchema } from "@sinclair/typebox";
import { schemaValidator, type JsonSchema, type SchemaValidator } from "../schema-validator.ts";
import { openApiSchema } from "./crds.ts";
import { compileTemplate } from "../../actions/template.ts";
import { ActionSchema } from "./action.ts";
import { NotifierSchema } from "./notifier.ts";
import { ExecutorPluginSchema, SourcePluginSchema } from "./plugins.ts";

/** A validator for the spec of a kind, compiled on first use (`patchbay local` may never need some). */
function specValidator(kindSchema: TSchema): () => SchemaValidator {
  let compiled: SchemaValidator | undefined;
  return () => {
    compiled ??= schemaValidator(openApiSchema(kindSchema).properties!.spec as JsonSchema);
    return compiled;
  };
}

const sourceSpec = specValidator(SourcePluginSchema);
const executorSpec = specValidator(ExecutorPluginSchema);
const notifierSpec = specValidator(NotifierSchema);
const actionSpec = specValidator(ActionSchema);

function validateSpec(validator: () => SchemaValidator, spec: unknown): string[] {
  if (spec === undefined) return ["spec: required"];
  return validator().validate(spec, "spec");
}

export function validateSourceSpec(spec: unknown): string[] {
  return validateSpec(sourceSpec, spec);
}

export function validateExecutorSpec(spec: unknown): string[] {
  return validateSpec(executorSpec, spec);
}

/**
 * Beyond the CRD: the regular expressions of the filter must compile (CEL in Kubernetes 1.26 cannot
 * say whether a string is a valid regular expression).
 */
export function validateNotifierSpec(spec: unknown): string[] {
  const problems = validateSpec(notifierSpec, spec);
  if (problems.length > 0) return problems;
  const filter = (spec as { filter?: { subject?: string; data?: { pattern: string }[] } }).filter;
  if (filter?.subject !== undefined) problems.push(...regexProblems(filter.subject, "spec.filter.subject"));
  filter?.data?.forEach(({ pattern }, i) =>
    problems.push(...regexProblems(pattern, `spec.filter.data[${i}].pattern`)),
  );
  return problems;
}

/** Beyond the CRD: the filter's regular expressions compile and the command template is well formed. */
export function validateActionSpec(spec: unknown): string[] {
  const problems = validateSpec(actionSpec, spec);
  if (problems.length > 0) return problems;
  problems.push(...filterProblems(spec as { filter?: NotifierFilterLike }));
  return [...problems, ...actionTemplateProblems((spec as { command: string }).command)];
}

/** What is wrong with a command template, as "spec.command: …"; empty when it is well formed. */
export function actionTemplateProblems(command: string): string[] {
  const compiled = compileTemplate(command);
  return compiled.ok ? [] : compiled.problems.map((problem) => `spec.command: ${problem}`);
}

interface NotifierFilterLike {
  subject?: string;
  data?: { pattern: string }[];
}

function filterProblems({ filter }: { filter?: NotifierFilterLike }): string[] {
  const problems: string[] = [];
  if (filter?.subject !== undefined) problems.push(...regexProblems(filter.subject, "spec.filter.subject"));
  filter?.data?.forEach(({ pattern }, i) =>
    problems.push(...regexProblems(pattern, `spec.filter.data[${i}].pattern`)),
  );
  return problems;
}

function regexProblems(pattern: string, at: string): string[] {
  try {
    new RegExp(pattern);
    return [];
  } catch (error) {
    return [`${at}: not a valid regular expression: ${(error as Error).message}`];
  }
}
