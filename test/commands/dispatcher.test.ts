import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { Registry } from "prom-client";
import { CommandDispatcher } from "../../src/commands/index.ts";
import type { RunningPlugin } from "@patchbay/sdk";
import { FakeExecutorDirectory } from "./fake-executors.ts";
import { GrpcExecutorDirectory } from "./grpc-executors.ts";
import { serveEcho } from "./echo-plugin.ts";

describe("dispatch with in-memory executors", () => {
  const directory = new FakeExecutorDirectory([
    { name: "kubectl", prefixes: ["kubectl"], aliases: { k: "kubectl", kgp: "kubectl get pods" } },
    { name: "kubectl-read", prefixes: ["kubectl get"] },
    { name: "helm", prefixes: ["helm"], ready: false, reason: "Unavailable: connection refused" },
    { name: "helm-list", prefixes: ["helm list"], ready: true },
    { name: "flux", prefixes: ["flux get", "flux"], ready: false, reason: "Connecting" },
    {
      name: "slow",
      prefixes: ["slow"],
      timeoutMs: 50,
      run: (_request, deadlineMs) =>
        sleep(deadlineMs * 10).then(() => ({ output: "late", errorCode: "ok", errorMessage: "" })),
    },
    {
      name: "big",
      prefixes: ["big"],
      run: async () => ({ output: "x".repeat(500), errorCode: "ok", errorMessage: "" }),
    },
    {
      name: "broken",
      prefixes: ["broken"],
      run: () => Promise.reject(Object.assign(new Error("socket hang up"), { code: "unavailable" })),
    },
    {
      name: "crashy",
      prefixes: ["crashy"],
      run: () => Promise.reject(Object.assign(new Error("internal error"), { code: "failed" })),
    },
    {
      name: "refuser",
      prefixes: ["refuse"],
      run: async () => ({ output: "partial", errorCode: "forbidden", errorMessage: "not on my watch" }),
    },
  ]);
  const registry = new Registry();
  const dispatcher = new CommandDispatcher({
    executors: directory,
    registry,
    maxOutputChars: 100,
    timeoutGraceMs: 50,
  });

  test("the longest matching prefix wins, on word boundaries", async () => {
    const r = await dispatcher.dispatch({ command: "kubectl get pods -n default" });
    assert.equal(r.status, "ok");
    assert.equal(r.executor, "kubectl-read");
    const call = directory.calls.at(-1)!;
    assert.equal(call.request.prefix, "kubectl get");
    assert.deepEqual(call.request.args, ["kubectl", "get", "pods", "-n", "default"]);
    assert.equal((await dispatcher.dispatch({ command: "kubectl describe pod x" })).executor, "kubectl");
    // "kubectl getter" does not match the prefix "kubectl get".
    assert.equal((await dispatcher.dispatch({ command: "kubectl getter" })).executor, "kubectl");
    assert.equal((await dispatcher.dispatch({ command: "kubectlx" })).status, "unknown-command");
  });

  test("aliases expand the first word, then prefixes are matched", async () => {
    const r = await dispatcher.dispatch({ command: "kgp -n 'kube system'" });
    assert.equal(r.executor, "kubectl-read");
    const call = directory.calls.at(-1)!;
    assert.deepEqual(call.request.args, ["kubectl", "get", "pods", "-n", "kube system"]);
    assert.equal(call.request.command, "kubectl get pods -n 'kube system'");
    assert.equal((await dispatcher.dispatch({ command: "k logs x" })).executor, "kubectl");
    assert.equal(directory.calls.at(-1)!.request.command, "kubectl logs x");
  });

  test("a not-ready executor owning the longest prefix is unavailable, with no fallback", async () => {
    const r = await dispatcher.dispatch({ command: "flux get all" });
    assert.deepEqual(
      { status: r.status, executor: r.executor, error: r.error },
      { status: "unavailable", executor: "flux", error: "unavailable: Connecting" },
    );
    const helm = await dispatcher.dispatch({ command: "helm install x" });
    assert.equal(helm.status, "unavailable");
    assert.match(helm.error, /connection refused/);
    // A ready executor with a longer prefix is still reached.
    assert.equal((await dispatcher.dispatch({ command: "helm list -A" })).executor, "helm-list");
  });

  test("unknown commands name the word and point to help", async () => {
    const r = await dispatcher.dispatch({ command: "terraform apply" });
    assert.equal(r.status, "unknown-command");
    assert.equal(r.executor, "");
    assert.match(r.error, /no executor handles "terraform"/);
  });

  test("invalid command lines are refused before any executor is called", async () => {
    const before = directory.calls.length;
    const r = await dispatcher.dispatch({ command: "kubectl get 'pods" });
    assert.equal(r.status, "invalid");
    assert.match(r.error, /unterminated single quote/);
    assert.equal((await dispatcher.dispatch({ command: "kubectl\nget" })).status, "invalid");
    assert.equal((await dispatcher.dispatch({ command: "   " })).status, "invalid");
    assert.equal(directory.calls.length, before);
  });

  test("the allow-list limits which executors a channel may use", async () => {
    const allowed = ["kubectl-read"];
    assert.equal(
      (await dispatcher.dispatch({ command: "kubectl get pods", allowedExecutors: allowed })).status,
      "ok",
    );
    const r = await dispatcher.dispatch({ command: "kubectl delete pod x", allowedExecutors: allowed });
    assert.equal(r.status, "forbidden");
    assert.equal(r.executor, "kubectl");
    assert.match(r.error, /may not use the executor "kubectl"/);
  });

  test("an executor the channel may not use hides none that it may: the longest allowed prefix wins", async () => {
    const before = directory.calls.length;
    const r = await dispatcher.dispatch({ command: "kubectl get pods", allowedExecutors: ["kubectl"] });
    assert.deepEqual([r.status, r.executor], ["ok", "kubectl"]);
    assert.equal(directory.calls.at(-1)!.request.prefix, "kubectl");
    assert.equal(directory.calls.length, before + 1);
  });

  test("an executor past its deadline times out", async () => {
    const started = Date.now();
    const r = await dispatcher.dispatch({ command: "slow down" });
    assert.equal(r.status, "timeout");
    assert.match(r.error, /did not answer within 50 ms/);
    assert.ok(Date.now() - started < 1_000);
    assert.equal(directory.calls.at(-1)!.deadlineMs, 50);
  });

  test("oversized output is trimmed with a note", async () => {
    const r = await dispatcher.dispatch({ command: "big" });
    assert.equal(r.status, "ok");
    assert.equal(r.truncated, true);
    assert.ok(r.output.startsWith("x".repeat(100) + "\n"));
    assert.match(r.output, /output truncated: showing the first 100 of 500 characters/);
  });

  test("call failures and executor refusals map onto statuses", async () => {
    const down = await dispatcher.dispatch({ command: "broken" });
    assert.deepEqual([down.status, down.error], ["unavailable", "unavailable: socket hang up"]);
    const crash = await dispatcher.dispatch({ command: "crashy" });
    assert.equal(crash.status, "failed");
    assert.match(crash.error, /internal error/);
    const refused = await dispatcher.dispatch({ command: "refuse" });
    assert.deepEqual(
      [refused.status, refused.output, refused.error],
      ["forbidden", "partial", "not on my watch"],
    );
  });

  test("built-in help lists what the channel may use", async () => {
    const all = await dispatcher.dispatch({ command: "help" });
    assert.equal(all.status, "ok");
    const limited = new CommandDispatcher({ executors: directory });
    const r = await limited.dispatch({ command: "help", allowedExecutors: ["kubectl", "helm"] });
    assert.match(r.output, /`kubectl` \(kubectl\)/);
    assert.match(r.output, /`helm` \(helm\): unavailable: Unavailable: connection refused/);
    assert.doesNotMatch(r.output, /kubectl-read|slow|big/);
  });

  test("metrics count commands per executor and result", async () => {
    const text = await registry.metrics();
    assert.match(text, /patchbay_commands_total\{executor="kubectl-read",result="ok"\} [1-9]/);
    assert.match(text, /patchbay_commands_total\{executor="slow",result="timeout"\} 1/);
    assert.match(text, /patchbay_commands_total\{executor="",result="unknown-command"\} [1-9]/);
    assert.match(text, /patchbay_command_duration_seconds_count\{executor="slow"\} 1/);
  });
});

describe("dispatch to a real executor over gRPC", () => {
  let echo: RunningPlugin;
  let directory: GrpcExecutorDirectory;
  let dispatcher: CommandDispatcher;

  before(async () => {
    echo = await serveEcho();
    directory = new GrpcExecutorDirectory([
      {
        name: "echo",
        address: echo.address,
        prefixes: ["echo"],
        aliases: { say: "echo" },
        ready: true,
        reason: "",
        timeoutMs: 300,
      },
    ]);
    dispatcher = new CommandDispatcher({ executors: directory, maxOutputChars: 1_000 });
  });
  after(async () => {
    directory.close();
    await echo.close();
  });

  test("answers, with the context passed through", async () => {
    assert.deepEqual(await dispatcher.dispatch({ command: `say "hello  world"` }), {
      status: "ok",
      executor: "echo",
      output: "hello  world",
      truncated: false,
      error: "",
    });
    const who = await dispatcher.dispatch({
      command: "echo --whoami",
      user: "u1",
      notifier: "ops",
      channel: "C1",
    });
    assert.equal(who.output, "u1|ops|C1");
  });

  test("executor errors, deadlines and oversized output", async () => {
    const invalid = await dispatcher.dispatch({ command: "echo" });
    assert.deepEqual([invalid.status, invalid.error], ["invalid", "usage: echo <text>"]);
    const forbidden = await dispatcher.dispatch({ command: "echo --forbid" });
    assert.deepEqual([forbidden.status, forbidden.error], ["forbidden", "echo refuses this"]);
    const slow = await dispatcher.dispatch({ command: "echo --sleep 5000 zz" });
    assert.equal(slow.status, "timeout");
    const big = await dispatcher.dispatch({ command: "echo --repeat 5000 ab" });
    assert.equal(big.truncated, true);
    assert.match(big.output, /showing the first 1000 of 10000 characters/);
  });

  test("help includes the executor's Help text", async () => {
    const r = await dispatcher.dispatch({ command: "help" });
    assert.match(r.output, /`echo` \(echo\)\necho <text> — answers with <text>\./);
  });

  test("a plugin that is gone is unavailable", async () => {
    const gone = await serveEcho("gone");
    const address = gone.address;
    await gone.close();
    const dead = new GrpcExecutorDirectory([
      { name: "gone", address, prefixes: ["gone"], aliases: {}, ready: true, reason: "", timeoutMs: 500 },
    ]);
    const r = await new CommandDispatcher({ executors: dead }).dispatch({ command: "gone now" });
    dead.close();
    assert.equal(r.status, "unavailable");
    assert.match(r.error, /^unavailable: /);
  });
});

describe("dispatch to the bundled echo plugin, run as its own process", () => {
  let child: ChildProcess;
  let directory: GrpcExecutorDirectory;

  before(async () => {
    child = spawn(process.execPath, [fileURLToPath(new URL("../../plugins/echo/main.ts", import.meta.url))], {
      env: { ...process.env, PATCHBAY_PLUGIN_ADDRESS: "127.0.0.1:0", PATCHBAY_LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const [line] = (await once(createInterface({ input: child.stdout! }), "line")) as [string];
    const address = line.split("|")[3]!;
    directory = new GrpcExecutorDirectory([
      { name: "echo", address, prefixes: ["echo"], aliases: {}, ready: true, reason: "", timeoutMs: 300 },
    ]);
  });
  after(async () => {
    directory.close();
    child.kill("SIGTERM");
    if (child.exitCode === null) await once(child, "exit");
  });

  test("answers, refuses bad arguments, and is cut off at its deadline", async () => {
    const dispatcher = new CommandDispatcher({ executors: directory });
    assert.equal((await dispatcher.dispatch({ command: "echo 'from a process'" })).output, "from a process");
    assert.equal((await dispatcher.dispatch({ command: "echo" })).error, "usage: echo <text>");
    assert.equal((await dispatcher.dispatch({ command: "echo --sleep 3000 late" })).status, "timeout");
  });
});
