import { test } from "node:test";
import assert from "node:assert/strict";
import { parseCommandLine } from "../../src/commands/index.ts";

function words(line: string): string[] {
  const parsed = parseCommandLine(line);
  assert.ok(parsed.ok, parsed.ok ? "" : parsed.error);
  return parsed.words.map((w) => w.value);
}

function error(line: string): string {
  const parsed = parseCommandLine(line);
  assert.equal(parsed.ok, false, `expected ${JSON.stringify(line)} to be rejected`);
  return parsed.ok ? "" : parsed.error;
}

test("splits on spaces and tabs, collapsing runs", () => {
  assert.deepEqual(words("  kubectl   get\tpods  "), ["kubectl", "get", "pods"]);
  assert.deepEqual(words(""), []);
});

test("single quotes keep everything literal", () => {
  assert.deepEqual(words(`echo 'a  "b" \\n $HOME'`), ["echo", `a  "b" \\n $HOME`]);
  assert.deepEqual(words("echo ''"), ["echo", ""]);
});

test('double quotes honour \\" and \\\\ and nothing else', () => {
  assert.deepEqual(words(`echo "say \\"hi\\" \\\\ \\n $USER"`), ["echo", `say "hi" \\ \\n $USER`]);
});

test("a backslash outside quotes escapes the next character; quotes join adjacent text", () => {
  assert.deepEqual(words(`echo a\\ b c\\'d x"y z"'w'`), ["echo", "a b", "c'd", "xy zw"]);
});

test("nothing is expanded", () => {
  assert.deepEqual(words("echo $(rm -rf /) `id` *.ts ~ ${HOME}"), [
    "echo",
    "$(rm",
    "-rf",
    "/)",
    "`id`",
    "*.ts",
    "~",
    "${HOME}",
  ]);
});

test("typographic quotes from chat clients count as plain quotes", () => {
  assert.deepEqual(words("echo \u201Chello world\u201D \u2018a b\u2019"), ["echo", "hello world", "a b"]);
});

test("unterminated quotes and a trailing backslash are invalid with a clear message", () => {
  assert.match(error(`echo "abc`), /unterminated double quote at position 5/);
  assert.match(error(`echo 'abc`), /unterminated single quote at position 5/);
  assert.match(error(`echo abc\\`), /lone backslash/);
});

test("control characters such as newlines are rejected", () => {
  assert.match(error("echo a\nrm -rf /"), /control character \(U\+000A\) at position 6/);
  assert.match(error("echo \u0000"), /U\+0000/);
  assert.match(error("echo \r"), /U\+000D/);
  assert.match(error("echo \u007f"), /U\+007F/);
});
