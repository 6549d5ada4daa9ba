/**
 * The dispatcher's smaller promises, each pinned down: default messages, metric labels, alias and prefix
 * tie-breaks, built-in help's edge cases, output trimming. (Mutation testing found them unguarded.)
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { Registry } from "prom-client";
import { CommandDispatcher } from "../../src/commands/index.ts";
import { FakeExecutorDirectory, type FakeExecutor } from "./fake-executors.ts";

const answerWith =
  (errorCode: "ok" | "forbidden" | "invalid-argument" | "failed" | "timeout", extra: object = {}) =>
  async () => ({ output: "out", errorCode, errorMessage: "", ...extra });

function dispatcherFor(
  executors: FakeExecutor[],
  options: Partial<ConstructorParameters<typeof CommandDispatcher>[0]> = {},
) {
  const directory = new FakeExecutorDirectory(executors);
  const registry = new Registry();
  const dispatcher = new CommandDispatcher({ executors: directory, registry, ...options });
  return { directory, registry, dispatcher };
}

describe("an executor's answer", () => {
  const { dispatcher } = dispatcherFor([
    { name: "forbids", prefixes: ["forbids"], run: answerWith("forbidden") },
    { name: "invalid", prefixes: ["invalid"], run: answerWith("invalid-argument") },
    { name: "slow", prefixes: ["slow"], run: answerWith("timeout") },
    { name: "fails", prefixes: ["fails"], run: answerWith("failed") },
    { name: "structured", prefixes: ["structured"], run: answerWith("ok", { message: { blocks: [1] } }) },
    { name: "plain", prefixes: ["plain"], run: answerWith("ok") },
  ]);

  test("without a message of its own, each status gets a default sentence", async () => {
    const expected: [string, string, string][] = [
      ["forbids", "forbidden", "the executor refused the command"],
      ["invalid", "invalid", "the executor rejected the arguments"],
      ["slow", "timeout", "the command timed out"],
      ["fails", "failed", "the command failed"],
    ];
    for (const [command, status, error] of expected) {
      const result = await dispatcher.dispatch({ command });
      assert.deepEqual([result.status, result.error, result.output], [status, error, "out"], command);
    }
  });

  test("a structured message is passed on; none means no message field", async () => {
    assert.deepEqual((await dispatcher.dispatch({ command: "structured" })).message, { blocks: [1] });
    const plain = await dispatcher.dispatch({ command: "plain" });
    assert.equal("message" in plain, false);
    assert.deepEqual(plain, { status: "ok", executor: "plain", output: "out", truncated: false, error: "" });
  });
});

describe("calls that fail", () => {
  test("a directory error coded timeout names the executor and its timeout", async () => {
    const { dispatcher } = dispatcherFor([
      {
        name: "late",
        prefixes: ["late"],
        timeoutMs: 1234,
        run: () => Promise.reject(Object.assign(new Error("deadline"), { code: "timeout" })),
      },
      { name: "odd", prefixes: ["odd"], run: () => Promise.reject("not an error object") },
    ]);
    const late = await dispatcher.dispatch({ command: "late" });
    assert.deepEqual([late.status, late.error], ["timeout", '"late" did not answer within 1234 ms']);
    const odd = await dispatcher.dispatch({ command: "odd" });
    assert.deepEqual([odd.status, odd.error], ["failed", 'the call to "odd" failed: not an error object']);
  });

  test("the executor gets the command, its words, the prefix, its timeout and the context (empty when not given)", async () => {
    const { dispatcher, directory } = dispatcherFor([
      { name: "kubectl", prefixes: ["kubectl get"], timeoutMs: 700 },
    ]);
    await dispatcher.dispatch({ command: "  kubectl get pods  " });
    const call = directory.calls.at(-1)!;
    assert.deepEqual(call.request, {
      command: "kubectl get pods",
      args: ["kubectl", "get", "pods"],
      prefix: "kubectl get",
      context: { user: "", notifier: "", channel: "" },
    });
    assert.ok(call.deadlineMs > 600 && call.deadlineMs <= 700, String(call.deadlineMs));
  });
});

describe("refusals before any executor is chosen", () => {
  test("an empty or unparseable line names no executor and has no output", async () => {
    const { dispatcher } = dispatcherFor([{ name: "echo", prefixes: ["echo"] }]);
    assert.deepEqual(await dispatcher.dispatch({ command: "  " }), {
      status: "invalid",
      executor: "",
      output: "",
      truncated: false,
      error: "the command is empty; try `help`",
    });
    const unparseable = await dispatcher.dispatch({ command: "echo 'open" });
    assert.deepEqual([unparseable.status, unparseable.executor, unparseable.output], ["invalid", "", ""]);
  });

  test("a rejection with nothing in it still becomes a failure that says so", async () => {
    const { dispatcher } = dispatcherFor([
      { name: "void", prefixes: ["void"], run: () => Promise.reject(undefined) },
    ]);
    const result = await dispatcher.dispatch({ command: "void" });
    assert.deepEqual([result.status, result.error], ["failed", 'the call to "void" failed: undefined']);
  });
});

describe("metrics", () => {
  test("latency is observed in seconds", async () => {
    const { dispatcher, registry } = dispatcherFor([{ name: "echo", prefixes: ["echo"] }]);
    await dispatcher.dispatch({ command: "echo hi" });
    const sum = /patchbay_command_duration_seconds_sum\{executor="echo"\} (\S+)/.exec(
      await registry.metrics(),
    );
    assert.ok(sum && Number(sum[1]) > 0 && Number(sum[1]) < 1, sum?.[1]);
  });

  test("built-in help is labelled builtin:help; commands with no executor are counted without latency", async () => {
    const { dispatcher, registry } = dispatcherFor([{ name: "echo", prefixes: ["echo"] }]);
    await dispatcher.dispatch({ command: "help" });
    await dispatcher.dispatch({ command: "nothing here" });
    await dispatcher.dispatch({ command: "echo hi" });
    const text = await registry.metrics();
    assert.match(text, /patchbay_commands_total\{executor="builtin:help",result="ok"\} 1/);
    assert.match(text, /patchbay_command_duration_seconds_count\{executor="builtin:help"\} 1/);
    assert.match(text, /patchbay_commands_total\{executor="",result="unknown-command"\} 1/);
    assert.doesNotMatch(text, /patchbay_command_duration_seconds_count\{executor=""\}/);
    assert.match(text, /patchbay_command_duration_seconds_count\{executor="echo"\} 1/);
  });
});

describe("aliases and prefixes", () => {
  test("two executors defining one alias: the first by name wins, and the rest of the line is kept", async () => {
    const { dispatcher, directory } = dispatcherFor([
      { name: "zeta", prefixes: ["zeta"], aliases: { go: "zeta run" } },
      { name: "alpha", prefixes: ["alpha"], aliases: { go: "alpha run" } },
    ]);
    const result = await dispatcher.dispatch({ command: "go  'far away'" });
    assert.equal(result.executor, "alpha");
    assert.deepEqual(directory.calls.at(-1)!.request.args, ["alpha", "run", "far away"]);
    assert.equal(directory.calls.at(-1)!.request.command, "alpha run 'far away'");
    await dispatcher.dispatch({ command: "go" });
    assert.equal(directory.calls.at(-1)!.request.command, "alpha run");
  });

  test("an alias's own spaces do not reach the executor", async () => {
    const { dispatcher, directory } = dispatcherFor([
      { name: "alpha", prefixes: ["alpha"], aliases: { go: "  alpha   run  " } },
    ]);
    await dispatcher.dispatch({ command: "go" });
    assert.equal(directory.calls.at(-1)!.request.command, "alpha   run");
    await dispatcher.dispatch({ command: "go now" });
    assert.equal(directory.calls.at(-1)!.request.command, "alpha   run now");
  });

  test("an alias that does not parse or is empty is skipped; inherited names are not aliases", async () => {
    const { dispatcher, directory } = dispatcherFor([
      { name: "a", prefixes: ["a"], aliases: { broken: "a 'unterminated", empty: "   " } },
      { name: "b", prefixes: ["b"], aliases: { broken: "b fixed", empty: "b filled" } },
      { name: "toString", prefixes: ["toString"] },
    ]);
    await dispatcher.dispatch({ command: "broken x" });
    assert.deepEqual(directory.calls.at(-1)!.request.args, ["b", "fixed", "x"]);
    await dispatcher.dispatch({ command: "empty" });
    assert.deepEqual(directory.calls.at(-1)!.request.args, ["b", "filled"]);
    const inherited = await dispatcher.dispatch({ command: "toString now" });
    assert.equal(inherited.executor, "toString");
    assert.deepEqual(directory.calls.at(-1)!.request.args, ["toString", "now"]);
  });

  test("equal prefixes on two executors: the ready one, then the first by name", async () => {
    const { dispatcher } = dispatcherFor([
      { name: "down", prefixes: ["tool"], ready: false, reason: "gone" },
      { name: "up", prefixes: ["tool"] },
      { name: "b-twin", prefixes: ["twin"] },
      { name: "a-twin", prefixes: ["twin"] },
    ]);
    assert.equal((await dispatcher.dispatch({ command: "tool x" })).executor, "up");
    assert.equal((await dispatcher.dispatch({ command: "twin x" })).executor, "a-twin");
    const reversed = dispatcherFor([
      { name: "up", prefixes: ["tool"] },
      { name: "down", prefixes: ["tool"], ready: false },
      { name: "a-twin", prefixes: ["twin"] },
      { name: "b-twin", prefixes: ["twin"] },
    ]).dispatcher;
    assert.equal((await reversed.dispatch({ command: "tool x" })).executor, "up");
    assert.equal((await reversed.dispatch({ command: "twin x" })).executor, "a-twin");
  });

  test("a longer prefix wins even when its executor is down and a shorter one is up", async () => {
    const { dispatcher } = dispatcherFor([
      { name: "long", prefixes: ["tool run"], ready: false, reason: "down" },
      { name: "short", prefixes: ["tool"] },
    ]);
    const result = await dispatcher.dispatch({ command: "tool run x" });
    assert.deepEqual([result.status, result.executor], ["unavailable", "long"]);
  });

  test("a prefix written with extra spaces matches word by word", async () => {
    const { dispatcher, directory } = dispatcherFor([{ name: "spaced", prefixes: ["  helm   list "] }]);
    assert.equal((await dispatcher.dispatch({ command: "helm list -A" })).executor, "spaced");
    assert.equal(directory.calls.at(-1)!.request.prefix, "helm list");
  });

  test("a multi-word prefix longer than the command, or an empty prefix, does not match", async () => {
    const { dispatcher } = dispatcherFor([
      { name: "deep", prefixes: ["helm list all"] },
      { name: "blank", prefixes: ["  "] },
      { name: "helm", prefixes: ["helm"] },
    ]);
    assert.equal((await dispatcher.dispatch({ command: "helm list" })).executor, "helm");
    assert.equal((await dispatcher.dispatch({ command: "helm  list   all pods" })).executor, "deep");
    assert.equal((await dispatcher.dispatch({ command: "whatever" })).status, "unknown-command");
  });

  test("a not-ready executor without a reason says it is not ready", async () => {
    const { dispatcher } = dispatcherFor([{ name: "mute", prefixes: ["mute"], ready: false, reason: "" }]);
    assert.equal(
      (await dispatcher.dispatch({ command: "mute" })).error,
      "unavailable: the executor is not ready",
    );
  });
});

describe("built-in help", () => {
  test("a channel that may use nothing is told so", async () => {
    const { dispatcher } = dispatcherFor([{ name: "echo", prefixes: ["echo"] }]);
    const result = await dispatcher.dispatch({ command: "help", allowedExecutors: [] });
    assert.deepEqual(result, {
      status: "ok",
      executor: "",
      output: "No commands are available in this channel.",
      truncated: false,
      error: "",
    });
  });

  test("sections sorted by name: help text trimmed, none means the heading alone, slow or failing help says so", async () => {
    const { dispatcher } = dispatcherFor(
      [
        { name: "zz", prefixes: ["zz", "z"], helpText: "  zz does things \n" },
        { name: "aa", prefixes: ["aa"], helpText: "   " },
        { name: "mm", prefixes: ["mm"], helpText: () => sleep(500).then(() => "late") },
        { name: "ff", prefixes: ["ff"], helpText: () => Promise.reject(new Error("boom")) },
        { name: "nn", prefixes: ["nn"], ready: false, reason: "" },
      ],
      { helpTimeoutMs: 20, timeoutGraceMs: 10 },
    );
    const started = performance.now();
    const result = await dispatcher.dispatch({ command: "help" });
    assert.ok(performance.now() - started < 400);
    assert.deepEqual([result.status, result.executor, result.error, result.truncated], ["ok", "", "", false]);
    assert.equal(
      result.output,
      [
        "Commands available in this channel:",
        "`aa` (aa)",
        "`ff` (ff): help unavailable: boom",
        "`mm` (mm): help unavailable: no answer within 30 ms",
        "`nn` (nn): unavailable: not ready",
        "`zz`, `z` (zz)\nzz does things",
      ].join("\n\n"),
    );
  });

  test("long help is trimmed like any output", async () => {
    const { dispatcher } = dispatcherFor([{ name: "big", prefixes: ["big"], helpText: "h".repeat(200) }], {
      maxOutputChars: 50,
    });
    const result = await dispatcher.dispatch({ command: "help" });
    assert.equal(result.truncated, true);
    assert.ok(result.output.startsWith("Commands available in this channel:\n\n`big` (b"));
    assert.match(result.output, /showing the first 50 of \d+ characters$/);
  });
});

describe("output trimming", () => {
  test("exactly at the limit is whole; a surrogate pair is never split", async () => {
    const { dispatcher } = dispatcherFor(
      [
        {
          name: "exact",
          prefixes: ["exact"],
          run: async () => ({ output: "x".repeat(10), errorCode: "ok", errorMessage: "" }),
        },
        {
          name: "emoji",
          prefixes: ["emoji"],
          run: async () => ({ output: "123456789😀tail", errorCode: "ok", errorMessage: "" }),
        },
      ],
      { maxOutputChars: 10 },
    );
    const exact = await dispatcher.dispatch({ command: "exact" });
    assert.deepEqual([exact.output, exact.truncated], ["x".repeat(10), false]);
    const emoji = await dispatcher.dispatch({ command: "emoji" });
    assert.equal(emoji.output, "123456789\n… output truncated: showing the first 9 of 15 characters");
  });

  test("the default limit is 16,000 characters", async () => {
    const { dispatcher } = dispatcherFor([
      {
        name: "big",
        prefixes: ["big"],
        run: async () => ({ output: "y".repeat(16_001), errorCode: "ok", errorMessage: "" }),
      },
      {
        name: "fits",
        prefixes: ["fits"],
        run: async () => ({ output: "y".repeat(16_000), errorCode: "ok", errorMessage: "" }),
      },
    ]);
    assert.equal((await dispatcher.dispatch({ command: "fits" })).truncated, false);
    assert.match(
      (await dispatcher.dispatch({ command: "big" })).output,
      /showing the first 16000 of 16001 characters$/,
    );
  });
});
