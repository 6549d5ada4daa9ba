/** `labelSelector` and `fieldSelector` query parameters, parsed the way the API server parses them. */

import { badRequest } from "./errors.ts";
import { isObject } from "./objects.ts";
import type { KubeObject } from "./objects.ts";

export type ObjectFilter = (obj: KubeObject) => boolean;

type LabelTest = (labels: Record<string, string>) => boolean;

const keyPattern = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const valuePattern = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Splits on commas that are not inside `in (a,b)` value sets. */
function splitTopLevel(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of selector) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      parts.push(current);
      current = "";
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p !== "");
}

function checkKey(key: string): string {
  if (!keyPattern.test(key)) throw badRequest(`unable to parse requirement: invalid label key "${key}"`);
  return key;
}

function checkValue(value: string): string {
  if (value.length > 63 || !valuePattern.test(value)) {
    throw badRequest(`unable to parse requirement: invalid label value: "${value}"`);
  }
  return value;
}

function parseRequirement(requirement: string): LabelTest {
  const set = /^([^\s!=<>(),]+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(requirement);
  if (set) {
    const key = checkKey(set[1] ?? "");
    const values = new Set(
      (set[3] ?? "")
        .split(",")
        .map((v) => v.trim())
        .map(checkValue),
    );
    return set[2] === "in"
      ? (labels) => key in labels && values.has(labels[key] ?? "")
      : (labels) => !(key in labels) || !values.has(labels[key] ?? "");
  }
  const notExists = /^!\s*([^\s!=<>(),]+)$/.exec(requirement);
  if (notExists) {
    const key = checkKey(notExists[1] ?? "");
    return (labels) => !(key in labels);
  }
  const comparison = /^([^\s!=<>(),]+)\s*(==|!=|=|>|<)\s*([^\s!=<>(),]*)$/.exec(requirement);
  if (comparison) {
    const key = checkKey(comparison[1] ?? "");
    const operator = comparison[2];
    const value = comparison[3] ?? "";
    if (operator === ">" || operator === "<") {
      const bound = Number(value);
      if (!Number.isInteger(bound)) {
        throw badRequest(
          "unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer",
        );
      }
      return (labels) => {
        const actual = Number(labels[key]);
        return (
          key in labels && Number.isInteger(actual) && (operator === ">" ? actual > bound : actual < bound)
        );
      };
    }
    checkValue(value);
    return operator === "!="
      ? (labels) => labels[key] !== value
      : (labels) => key in labels && labels[key] === value;
  }
  if (/^[^\s!=<>(),]+$/.test(requirement)) {
    const key = checkKey(requirement);
    return (labels) => key in labels;
  }
  throw badRequest(`unable to parse requirement: found '${requirement}', expected: identifier`);
}

/** A filter for `labelSelector`; `=`, `==`, `!=`, `in`, `notin`, `key`, `!key`, `>`, `<`. */
export function parseLabelSelector(selector: string | null | undefined): ObjectFilter {
  if (!selector) return () => true;
  const tests = splitTopLevel(selector).map(parseRequirement);
  return (obj) => {
    const labels = obj.metadata.labels ?? {};
    return tests.every((t) => t(labels));
  };
}

/** Reads a dotted field path (`status.phase`, `involvedObject.name`) as the string a field selector compares. */
function fieldValue(obj: KubeObject, path: string): string {
  let current: unknown = obj;
  for (const segment of path.split(".")) {
    if (!isObject(current)) return "";
    current = current[segment];
  }
  if (current === undefined || current === null) return "";
  return typeof current === "object" ? JSON.stringify(current) : String(current);
}

/**
 * A filter for `fieldSelector`; `metadata.name` and `metadata.namespace` always work, plus the
 * resource's own selectable fields. Anything else is a 400, as on the real server.
 */
export function parseFieldSelector(
  selector: string | null | undefined,
  supported: readonly string[],
): ObjectFilter {
  if (!selector) return () => true;
  const tests = splitTopLevel(selector).map((requirement): ObjectFilter => {
    const match = /^([^!=]+?)\s*(==|!=|=)\s*(.*)$/.exec(requirement);
    if (!match) throw badRequest(`invalid selector: '${selector}'; can't understand '${requirement}'`);
    const field = match[1] ?? "";
    const operator = match[2];
    const value = match[3] ?? "";
    if (field !== "metadata.name" && field !== "metadata.namespace" && !supported.includes(field)) {
      throw badRequest(`field label not supported: ${field}`);
    }
    return operator === "!="
      ? (obj) => fieldValue(obj, field) !== value
      : (obj) => fieldValue(obj, field) === value;
  });
  return (obj) => tests.every((t) => t(obj));
}
