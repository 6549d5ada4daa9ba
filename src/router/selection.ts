/**
 * Which notifiers an event goes to, compiled once per configuration: a source matcher (names and a
 * label selector) and a filter predicate (types, severity, subject, data fields). Matching an event
 * allocates nothing.
 */
import type { LabelSelector, NotifierFilter, NotifierSources } from "../api/v1alpha1/index.ts";
import type { CloudEvent, Severity } from "../events/cloudevent.ts";

export type SourceMatcher = (name: string, labels: Readonly<Record<string, string>>) => boolean;
export type EventFilter = (event: CloudEvent) => boolean;

export class SelectionError extends Error {
  override name = "SelectionError";
}

/** Absent = every source; otherwise a source named in `names` or matching `selector`. */
export function compileSources(sources: NotifierSources | undefined): SourceMatcher {
  if (!sources) return () => true;
  const names = new Set(sources.names ?? []);
  const selector = sources.selector ? compileSelector(sources.selector) : undefined;
  return (name, labels) => names.has(name) || (selector !== undefined && selector(labels));
}

/** Kubernetes label selector semantics: every matchLabels entry and every expression must hold; `{}` matches all. */
export function compileSelector(
  selector: LabelSelector,
): (labels: Readonly<Record<string, string>>) => boolean {
  const required = Object.entries(selector.matchLabels ?? {});
  const expressions = (selector.matchExpressions ?? []).map((expression) => {
    const values = new Set(expression.values ?? []);
    const { key, operator } = expression;
    switch (operator) {
      case "In":
        return (labels: Readonly<Record<string, string>>) =>
          Object.hasOwn(labels, key) && values.has(labels[key]!);
      case "NotIn":
        return (labels: Readonly<Record<string, string>>) =>
          !Object.hasOwn(labels, key) || !values.has(labels[key]!);
      case "Exists":
        return (labels: Readonly<Record<string, string>>) => Object.hasOwn(labels, key);
      case "DoesNotExist":
        return (labels: Readonly<Record<string, string>>) => !Object.hasOwn(labels, key);
      default:
        throw new SelectionError(`unknown label selector operator ${JSON.stringify(operator)}`);
    }
  });
  return (labels) => {
    for (const [key, value] of required)
      if (labels[key] !== value || !Object.hasOwn(labels, key)) return false;
    for (const expression of expressions) if (!expression(labels)) return false;
    return true;
  };
}

const SEVERITY_RANK: Record<Severity, number> = { debug: 0, info: 1, warning: 2, error: 3, critical: 4 };

/** undefined when the filter lets everything through. Throws a SelectionError for an invalid pattern. */
export function compileFilter(filter: NotifierFilter | undefined): EventFilter | undefined {
  if (!filter) return undefined;
  const checks: EventFilter[] = [];
  if (filter.types && filter.types.length > 0) checks.push(compileTypes(filter.types));
  if (filter.minSeverity !== undefined) {
    const min = SEVERITY_RANK[filter.minSeverity];
    if (min === undefined)
      throw new SelectionError(`filter.minSeverity: unknown severity ${filter.minSeverity}`);
    checks.push((event) => {
      const rank = event.severity === undefined ? undefined : SEVERITY_RANK[event.severity];
      return rank === undefined || rank >= min;
    });
  }
  if (filter.subject !== undefined) {
    const pattern = compilePattern(filter.subject, "filter.subject");
    checks.push((event) => typeof event.subject === "string" && pattern.test(event.subject));
  }
  for (const [i, match] of (filter.data ?? []).entries()) {
    const path = match.path.split(".");
    const pattern = compilePattern(match.pattern, `filter.data[${i}].pattern`);
    checks.push((event) => {
      const value = valueAt(event.data, path);
      return (
        (typeof value === "string" || typeof value === "number" || typeof value === "boolean") &&
        pattern.test(String(value))
      );
    });
  }
  if (checks.length === 0) return undefined;
  if (checks.length === 1) return checks[0];
  return (event) => {
    for (const check of checks) if (!check(event)) return false;
    return true;
  };
}

function compileTypes(types: string[]): EventFilter {
  const exact = new Set(types.filter((type) => !type.endsWith("*")));
  const prefixes = types.filter((type) => type.endsWith("*")).map((type) => type.slice(0, -1));
  return (event) => {
    if (exact.has(event.type)) return true;
    for (const prefix of prefixes) if (event.type.startsWith(prefix)) return true;
    return false;
  };
}

function compilePattern(pattern: string, field: string): RegExp {
  try {
    // No g or y flag: test() must not carry lastIndex from one event to the next.
    return new RegExp(pattern);
  } catch (error) {
    throw new SelectionError(`${field}: not a valid regular expression: ${(error as Error).message}`);
  }
}

function valueAt(data: unknown, path: readonly string[]): unknown {
  let value = data;
  for (const key of path) {
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}
