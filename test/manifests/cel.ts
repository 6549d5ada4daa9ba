/**
 * A tiny evaluator for the subset of CEL our CRDs use — literals, `self` field selection, has(),
 * size(), matches(), ! && || ?: == != < <= > >= + - — so tests can run the rules on good and bad
 * objects without an API server. Anything outside the subset is a parse error, so a new rule with new
 * syntax fails the tests until this grows with it. Regular expressions run as JavaScript RegExp, which
 * agrees with RE2 on the patterns used here (no backreferences or lookaround). It is not cel-go: cost
 * estimation and type checking are the API server's and are not reproduced.
 */

export type CelValue = string | number | boolean | null | CelValue[] | { [key: string]: CelValue };

type Node =
  | { kind: "literal"; value: CelValue }
  | { kind: "self" }
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
  const binaryLevel = (ops: string[], next: () => Node) => (): Node => {
    let left = next();
    while (tokens[i]?.type === "op" && ops.includes(tokens[i]!.text)) {
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
  const relational = binaryLevel(["<", "<=", ">", ">="], additive);
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
        if (name.text !== "matches") throw new CelError(`unsupported method ${name.text}() in ${source}`);
        node = { kind: "call", name: "matches", target: node, args: callArgs() };
      } else node = { kind: "select", target: node, field: name.text };
    }
    return node;
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

export function evaluateCel(source: string, self: CelValue): CelValue {
  return evaluate(parseCel(source), self);
}

function evaluate(node: Node, self: CelValue): CelValue {
  switch (node.kind) {
    case "literal":
      return node.value;
    case "self":
      return self;
    case "select": {
      const target = asObject(evaluate(node.target, self));
      if (!Object.hasOwn(target, node.field)) throw new CelError(`no such key: ${node.field}`);
      return target[node.field]!;
    }
    case "has":
      return Object.hasOwn(asObject(evaluate(node.target, self)), node.field);
    case "call": {
      if (node.name === "size") {
        const value = evaluate(node.args[0]!, self);
        if (typeof value === "string") return [...value].length;
        if (Array.isArray(value)) return value.length;
        return Object.keys(asObject(value)).length;
      }
      const text = evaluate(node.target!, self);
      const pattern = evaluate(node.args[0]!, self);
      if (typeof text !== "string" || typeof pattern !== "string")
        throw new CelError("matches() takes strings");
      return new RegExp(pattern, "u").test(text);
    }
    case "unary": {
      const value = evaluate(node.operand, self);
      if (node.op === "!") return !asBool(value);
      return -asNumber(value);
    }
    case "ternary":
      return asBool(evaluate(node.test, self)) ? evaluate(node.then, self) : evaluate(node.otherwise, self);
    case "binary": {
      // CEL's && and || are commutative about errors; short-circuiting is enough for these rules.
      if (node.op === "&&") return asBool(evaluate(node.left, self)) && asBool(evaluate(node.right, self));
      if (node.op === "||") return asBool(evaluate(node.left, self)) || asBool(evaluate(node.right, self));
      const left = evaluate(node.left, self);
      const right = evaluate(node.right, self);
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
      }
      throw new CelError(`unsupported operator ${node.op}`);
    }
  }
}

/** The `self.a.b` paths a rule reads (has() included), relative to the schema node it sits on. */
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
function asNumber(value: CelValue): number {
  if (typeof value !== "number") throw new CelError(`not a number: ${JSON.stringify(value)}`);
  return value;
}
