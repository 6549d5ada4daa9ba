/** One stream's filters, compiled once: namespaces, labels, annotations, the opt-out annotation. */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { KubernetesConfig } from "./config.ts";

export type Predicate<T> = (value: T) => boolean;

export function anchored(patterns: string[]): RegExp[] {
  return patterns.map((pattern) => new RegExp(`^(?:${pattern})$`));
}

export function namespaceFilter({
  include,
  exclude,
}: KubernetesConfig["namespaces"]): Predicate<string | undefined> {
  const included = anchored(include);
  const excluded = anchored(exclude);
  return (namespace) =>
    namespace === undefined ||
    namespace === "" ||
    (included.some((r) => r.test(namespace)) && !excluded.some((r) => r.test(namespace)));
}

/** Labels, annotations and the opt-out annotation, applied to an object. */
export function objectFilter(config: KubernetesConfig): Predicate<KubernetesObject> {
  const selector = parseLabelSelector(config.labelSelector);
  const required = Object.entries(config.annotations);
  return (object) => {
    const annotations = object.metadata?.annotations ?? {};
    if (annotations[config.ignoreAnnotation] === "true") return false;
    if (!required.every(([key, value]) => annotations[key] === value)) return false;
    return selector(object.metadata?.labels ?? {});
  };
}

/**
 * Kubernetes label selector syntax: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`,
 * joined by commas. Throws on anything else.
 */
export function parseLabelSelector(selector: string): Predicate<Record<string, string>> {
  const requirements: Predicate<Record<string, string>>[] = [];
  const terms = selector.match(/[^,(]+(\([^)]*\))?/g) ?? [];
  for (const raw of terms) {
    const term = raw.trim();
    if (term === "") continue;
    let m: RegExpExecArray | null;
    if ((m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term))) {
      const [, key, op, list] = m as unknown as [string, string, string, string];
      const values = new Set(list.split(",").map((v) => v.trim()));
      requirements.push(op === "in" ? (l) => values.has(l[key] ?? "\0") : (l) => !values.has(l[key] ?? "\0"));
    } else if ((m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(term))) {
      const [, key, op, value] = m as unknown as [string, string, string, string];
      requirements.push(op === "!=" ? (l) => l[key] !== value : (l) => l[key] === value);
    } else if ((m = /^!\s*([\w./-]+)$/.exec(term))) {
      const key = m[1]!;
      requirements.push((l) => !(key in l));
    } else if ((m = /^([\w./-]+)$/.exec(term))) {
      const key = m[1]!;
      requirements.push((l) => key in l);
    } else {
      throw new Error(`labelSelector: cannot parse ${JSON.stringify(term)}`);
    }
  }
  return (labels) => requirements.every((requirement) => requirement(labels));
}
