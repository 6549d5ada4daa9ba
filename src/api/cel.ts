/**
 * A tiny evaluator for the subset of CEL our CRDs use — literals, `self` field selection, has(),
 * size(), matches(), the all() macro over a list's items or a map's keys, ! && || ?: == != < <= > >=
 * in + - — so that `patchbay local` and the operator apply the CRDs' `x-kubernetes-validations` rules
 * where no API server runs them (schema-validator.ts), and tests can run them on good and bad objects.
 * Anything outside the subset is a parse error, so a new rule with new syntax fails the tests until
 * this grows with it. Regular expressions run as JavaScript RegExp, which agrees with RE2 on the
 * patterns used here (no backreferences or lookaround). It is not cel-go: cost estimation and type
 * checking are the API server's and are not reproduced.
 */

export type CelValue = string | number | boolean | null | CelValue[] | { [key: string]: CelValue };

type Node =
  | { kind: "literal"; value: CelValue }
  | { kind: "self" }
  | { kind: "variable"; name: string }
  | { kind: "all"; target: Node; variable: string; body: Node }
  | { kind: "select"; target: Node; field: string }
  | { kind: "has"; target: Node; field: string }
  | { kind: "call"; name: "size" | "matches"; target?: Node; args: Node[] }
  | { kind: "unary"; op: "!" | "-"; operand: Node }
  | { kind: "binary"; op: string; left: Node; right: Node }
  | { kind: "ternary"; test: Node; then: Node; otherwise: Node };

export class CelError extends Error {}

const TOKEN =
  /\s*(?:(\d+(?:\.\d+)?)|'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|([A-Za-z_][A-Za-z0-9_]*)|(==|!=|<=|>=|&&|\|\||[!?:+\-<>().,]))/y;

type Token = { type: "number" | "string" | "ident" | "op"; text: string };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < source.length) {
    if (/^\s*$/.test(source.slice(TOKEN.lastIndex))) break;
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(source);
    if (!match) throw new CelError(`unsupported syntax at ${at}: ${source.slice(at, at + 20)}`);
    const [, number, single, double, ident, op] = match;
    if (number !== undefined) tokens.push({ type: "number", text: number });
    else if (single !== undefined) tokens.push({ type: "string", text: unescape(single) });
    else if (double !== undefined) tokens.push({ type: "string", text: unescape(double) });
    else if (ident !== undefined) tokens.push({ type: "ident", text: ident });
    else tokens.push({ type: "op", text: op! });
  }
  return tokens;
}

/** CEL string escapes: in a pattern, '\\.' is the two characters backslash and dot. */
function unescape(text: string): string {
  return text.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c === "t" ? "\t" : c));
}

export function parseCel(source: string): Node {
  const tokens = tokenize(source);
  let i = 0;
  /** Variables the enclosing all() macros bind. */
  const bound: string[] = [];
  const peek = (text?: string) =>
    text === undefined ? tokens[i] : tokens[i]?.text === text ? tokens[i] : undefined;
  const expect = (text: string) => {
    if (tokens[i]?.text !== text) throw new CelError(`expected "${text}" in ${source}`);
    i++;
  };

  const ternary = (): Node => {
    const test = or();
    if (!peek("?")) return test;
    i++;
    const then = ternary();
    expect(":");
    return { kind: "ternary", test, then, otherwise: ternary() };
  };
  // `in` is the one operator spelled as a word; it shares the relational level, as in CEL.
  const isOperator = (token: Token | undefined, ops: string[]) =>
    (token?.type === "op" || (token?.type === "ident" && token.text === "in")) && ops.includes(token.text);
  const binaryLevel = (ops: string[], next: () => Node) => (): Node => {
    let left = next();
    while (isOperator(tokens[i], ops)) {
      const op = tokens[i++]!.text;
      left = { kind: "binary", op, left, right: next() };
    }
    return left;
  };
  const unary = (): Node => {
    if (peek("!") || peek("-")) {
      const op = tokens[i++]!.text as "!" | "-";
      return { kind: "unary", op, operand: unary() };
    }
    return postfix();
  };
  const additive = binaryLevel(["+", "-"], unary);
  const relational = binaryLevel(["<", "<=", ">", ">=", "in"], additive);
  const equality = binaryLevel(["==", "!="], relational);
  const and = binaryLevel(["&&"], equality);
  const or = binaryLevel(["||"], and);

  function postfix(): Node {
    let node = primary();
    while (peek(".")) {
      i++;
      const name = tokens[i++];
      if (name?.type !== "ident") throw new CelError(`expected a field name in ${source}`);
      if (peek("(")) {
        if (name.text === "all") node = allMacro(node);
        else if (name.text === "matches")
          node = { kind: "call", name: "matches", target: node, args: callArgs() };
        else throw new CelError(`unsupported method ${name.text}() in ${source}`);
      } else node = { kind: "select", target: node, field: name.text };
    }
    return node;
  }
  /** `target.all(x, body)`: true when body holds for every item of a list or every key of a map. */
  function allMacro(target: Node): Node {
    expect("(");
    const variable = tokens[i++];
    if (
      variable?.type !== "ident" ||
      ["self", "true", "false", "null", "has", "size"].includes(variable.text)
    )
      throw new CelError(`all() takes a variable name first in ${source}`);
    expect(",");
    bound.push(variable.text);
    const body = ternary();
    bound.pop();
    expect(")");
    return { kind: "all", target, variable: variable.text, body };
  }
  function callArgs(): Node[] {
    expect("(");
    const args = [ternary()];
    while (peek(",")) {
      i++;
      args.push(ternary());
    }
    expect(")");
    return args;
  }
  function primary(): Node {
    const token = tokens[i++];
    if (!token) throw new CelError(`unexpected end of ${source}`);
    if (token.type === "number") return { kind: "literal", value: Number(token.text) };
    if (token.type === "string") return { kind: "literal", value: token.text };
    if (token.text === "(") {
      const inner = ternary();
      expect(")");
      return inner;
    }
    if (token.type === "ident") {
      if (token.text === "self") return { kind: "self" };
      if (bound.includes(token.text)) return { kind: "variable", name: token.text };
      if (token.text === "true" || token.text === "false")
        return { kind: "literal", value: token.text === "true" };
      if (token.text === "null") return { kind: "literal", value: null };
      if (token.text === "has") {
        const [arg] = callArgs();
        if (arg?.kind !== "select") throw new CelError(`has() takes a field selection in ${source}`);
        return { kind: "has", target: arg.target, field: arg.field };
      }
      if (token.text === "size") return { kind: "call", name: "size", args: callArgs() };
    }
    throw new CelError(`unsupported token "${token.text}" in ${source}`);
  }

  const root = ternary();
  if (i !== tokens.length) throw new CelError(`unexpected "${tokens[i]!.text}" in ${source}`);
  return root;
}

const parsed = new Map<string, Node>();

/** Evaluates a rule against `self`; each rule's source is parsed once. */
export function evaluateCel(source: string, self: CelValue): CelValue {
  let node = parsed.get(source);
  if (!node) {
    node = parseCel(source);
    parsed.set(source, node);
  }
  return evaluate(node, self, {});
}

type Scope = Readonly<Record<string, CelValue>>;

function evaluate(node: Node, self: CelValue, scope: Scope): CelValue {
  const inner = (child: Node) => evaluate(child, self, scope);
  switch (node.kind) {
    case "literal":
      return node.value;
    case "self":
      return self;
    case "variable":
      return scope[node.name]!;
    case "all": {
      const target = inner(node.target);
      const elements = Array.isArray(target) ? target : Object.keys(asObject(target));
      return elements.every((element) =>
        asBool(evaluate(node.body, self, { ...scope, [node.variable]: element })),
      );
    }
    case "select": {
      const target = asObject(inner(node.target));
      if (!Object.hasOwn(target, node.field)) throw new CelError(`no such key: ${node.field}`);
      return target[node.field]!;
    }
    case "has":
      return Object.hasOwn(asObject(inner(node.target)), node.field);
    case "call": {
      if (node.name === "size") {
        const value = inner(node.args[0]!);
        if (typeof value === "string") return [...value].length;
        if (Array.isArray(value)) return value.length;
        return Object.keys(asObject(value)).length;
      }
      const text = inner(node.target!);
      const pattern = inner(node.args[0]!);
      if (typeof text !== "string" || typeof pattern !== "string")
        throw new CelError("matches() takes strings");
      return new RegExp(pattern, "u").test(text);
    }
    case "unary": {
      const value = inner(node.operand);
      if (node.op === "!") return !asBool(value);
      return -asNumber(value);
    }
    case "ternary":
      return asBool(inner(node.test)) ? inner(node.then) : inner(node.otherwise);
    case "binary": {
      // CEL's && and || are commutative about errors; short-circuiting is enough for these rules.
      if (node.op === "&&") return asBool(inner(node.left)) && asBool(inner(node.right));
      if (node.op === "||") return asBool(inner(node.left)) || asBool(inner(node.right));
      const left = inner(node.left);
      const right = inner(node.right);
      switch (node.op) {
        case "==":
          return JSON.stringify(left) === JSON.stringify(right);
        case "!=":
          return JSON.stringify(left) !== JSON.stringify(right);
        case "+":
          if (typeof left === "string" && typeof right === "string") return left + right;
          return asNumber(left) + asNumber(right);
        case "-":
          return asNumber(left) - asNumber(right);
        case "<":
          return asNumber(left) < asNumber(right);
        case "<=":
          return asNumber(left) <= asNumber(right);
        case ">":
          return asNumber(left) > asNumber(right);
        case ">=":
          return asNumber(left) >= asNumber(right);
        case "in":
          // A list holds the value, or a map has it as a key.
          return Array.isArray(right)
            ? right.some((item) => JSON.stringify(item) === JSON.stringify(left))
            : Object.hasOwn(asObject(right), asString(left));
      }
      throw new CelError(`unsupported operator ${node.op}`);
    }
  }
}

/**
 * The `self.a.b` paths a rule reads (has() included), relative to the schema node it sits on. Reads
 * through an all() variable (an item or a key) are not listed.
 */
export function celFieldPaths(source: string): string[][] {
  const paths: string[][] = [];
  const pathOf = (node: Node): string[] | undefined => {
    if (node.kind === "self") return [];
    if (node.kind === "select") {
      const base = pathOf(node.target);
      return base && [...base, node.field];
    }
    return undefined;
  };
  const visit = (node: Node): void => {
    if (node.kind === "select" || node.kind === "has") {
      const base = pathOf(node.target);
      if (base) paths.push([...base, node.field]);
      visit(node.target);
    } else if (node.kind === "all") {
      visit(node.target);
      visit(node.body);
    } else if (node.kind === "call") {
      if (node.target) visit(node.target);
      node.args.forEach(visit);
    } else if (node.kind === "unary") visit(node.operand);
    else if (node.kind === "binary") {
      visit(node.left);
      visit(node.right);
    } else if (node.kind === "ternary") {
      visit(node.test);
      visit(node.then);
      visit(node.otherwise);
    }
  };
  visit(parseCel(source));
  return paths;
}

function asObject(value: CelValue): { [key: string]: CelValue } {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new CelError("not an object");
  return value;
}
function asBool(value: CelValue): boolean {
  if (typeof value !== "boolean") throw new CelError(`not a bool: ${JSON.stringify(value)}`);
  return value;
}
function asString(value: CelValue): string {
  if (typeof value !== "string") throw new CelError(`not a string: ${JSON.stringify(value)}`);
  return value;
}
function asNumber(value: CelValue): number {
  if (typeof value !== "number") throw new CelError(`not a number: ${JSON.stringify(value)}`);
  return value;
}
