/**
 * The subset of Kubernetes JSONPath that CRD `additionalPrinterColumns` use in practice:
 * `.a.b`, `['a.b']`, `[0]`, `[*]`, `[?(@.type=="Ready")]` and `[?(@.x)]`.
 */

import { isObject } from "./objects.ts";

type Step = (node: unknown) => unknown[];

function field(name: string): Step {
  return (node) => (isObject(node) && node[name] !== undefined ? [node[name]] : []);
}

function children(node: unknown): unknown[] {
  if (Array.isArray(node)) return node;
  if (isObject(node)) return Object.values(node);
  return [];
}

function readPath(node: unknown, path: string): unknown {
  let current = node;
  for (const name of path.split(".").filter((s) => s !== "")) {
    if (!isObject(current)) return undefined;
    current = current[name];
  }
  return current;
}

function filter(expression: string): Step {
  const comparison =
    /^@((?:\.[\w-]+)*)\s*(==|!=)\s*(?:"([^"]*)"|'([^']*)'|(-?\d+(?:\.\d+)?|true|false))$/.exec(
      expression.trim(),
    );
  if (comparison) {
    const path = comparison[1] ?? "";
    const literal = comparison[3] ?? comparison[4] ?? comparison[5] ?? "";
    const equal = comparison[2] === "==";
    return (node) => children(node).filter((child) => (String(readPath(child, path)) === literal) === equal);
  }
  const exists = /^@((?:\.[\w-]+)+)$/.exec(expression.trim());
  if (exists) {
    const path = exists[1] ?? "";
    return (node) => children(node).filter((child) => readPath(child, path) !== undefined);
  }
  throw new Error(`unsupported JSONPath filter: ${expression}`);
}

function compile(expression: string): Step[] {
  let rest = expression
    .trim()
    .replace(/^\{(.*)\}$/, "$1")
    .replace(/^\$/, "");
  const steps: Step[] = [];
  while (rest !== "") {
    let match: RegExpExecArray | null;
    if ((match = /^\.([^.[\]]+)/.exec(rest))) {
      const name = match[1] ?? "";
      steps.push(name === "*" ? children : field(name));
    } else if ((match = /^\[\?\((.*?)\)\]/.exec(rest))) {
      steps.push(filter(match[1] ?? ""));
    } else if ((match = /^\[\s*(?:'([^']*)'|"([^"]*)")\s*\]/.exec(rest))) {
      steps.push(field((match[1] ?? match[2] ?? "").replace(/\\\./g, ".")));
    } else if ((match = /^\[\*\]/.exec(rest))) {
      steps.push(children);
    } else if ((match = /^\[(-?\d+)\]/.exec(rest))) {
      const index = Number(match[1]);
      steps.push((node) => {
        if (!Array.isArray(node)) return [];
        const item: unknown = node[index < 0 ? node.length + index : index];
        return item === undefined ? [] : [item];
      });
    } else {
      throw new Error(`unsupported JSONPath: ${expression}`);
    }
    rest = rest.slice(match[0].length);
  }
  return steps;
}

/** All values the expression selects from `root` (an empty list when nothing matches). */
export function evaluateJsonPath(root: unknown, expression: string): unknown[] {
  let nodes: unknown[] = [root];
  for (const step of compile(expression)) nodes = nodes.flatMap(step);
  return nodes;
}
