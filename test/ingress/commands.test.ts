import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { CommandDispatcher } from "../../src/commands/index.ts";
import type { RunningIngress } from "../../src/ingress/index.ts";
import type { RunningPlugin } from "@patchbay/sdk";
import { serveEcho } from "../commands/echo-plugin.ts";
import { GrpcExecutorDirectory } from "../commands/grpc-executors.ts";
import { FakeSources, json, RecordingSink } from "./fakes.ts";
import { startTestIngress } from "./fakes.ts";

interface CommandAnswer {
  executor: string;
  status: string;
  output: string;
  truncated: boolean;
  error?: { code: string; message: string };
}

describe("POST /commands with real executors over gRPC", () => {
  let echo: RunningPlugin;
  let shout: RunningPlugin;
  let directory: GrpcExecutorDirectory;
  let ingress: RunningIngress;
  const registry = new Registry();

  before(async () => {
    [echo, shout] = await Promise.all([serveEcho("echo"), serveEcho("shout")]);
    const common = { aliases: {}, ready: true, reason: "", timeoutMs: 400 };
    directory = new GrpcExecutorDirectory([
      {
        ...common,
        name: "echo",
        address: echo.address,
        prefixes: ["echo"],
        aliases: { e: "echo", hi: "echo hello" },
      },
      { ...common, name: "shout", address: shout.address, prefixes: ["echo loud"] },
      {
        ...common,
        name: "helm",
        address: "127.0.0.1:1",
        prefixes: ["helm"],
        ready: false,
        reason: "Unavailable: connection refused",
      },
    ]);
    const commands = new CommandDispatcher({ executors: directory, registry, maxOutputChars: 2_000 });
    ingress = await startTestIngress(undefined, {
      sources: new FakeSources([]),
      sink: new RecordingSink(),
      commands,
      registry,
      auth: { tokens: ["cli-token"] },
    });
  });
  after(async () => {
    await ingress.close(100);
    directory.close();
    await Promise.all([echo.close(), shout.close()]);
  });

  async function run(
    command: unknown,
    token = "cli-token",
  ): Promise<{ status: number; body: CommandAnswer }> {
    const response = await fetch(`${ingress.url}/commands`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body:
        typeof command === "string" ? JSON.stringify({ command, user: "alice" }) : JSON.stringify(command),
    });
    return { status: response.status, body: (await json(response)) as CommandAnswer };
  }

  test("ok: 200 with the executor's output", async () => {
    assert.deepEqual(await run("echo 'hello   world'"), {
      status: 200,
      body: { executor: "echo", status: "ok", output: "hello   world", truncated: false },
    });
    assert.equal((await run("echo --whoami")).body.output, "alice||");
  });

  test("the longest prefix wins, aliases expand", async () => {
    assert.equal((await run("echo loud noises")).body.executor, "shout");
    assert.equal((await run("echo quiet")).body.executor, "echo");
    assert.deepEqual((await run("hi there")).body, {
      executor: "echo",
      status: "ok",
      output: "hello there",
      truncated: false,
    });
    assert.equal((await run("e x")).body.output, "x");
  });

  test("unknown 404, invalid 400, unavailable 503, executor refusal 403", async () => {
    const unknown = await run("kubectl get pods");
    assert.equal(unknown.status, 404);
    assert.deepEqual(unknown.body.error?.code, "unknown-command");
    assert.match(unknown.body.error!.message, /no executor handles "kubectl"/);
    const invalid = await run('echo "unterminated');
    assert.equal(invalid.status, 400);
    assert.match(invalid.body.error!.message, /unterminated double quote/);
    const usage = await run("echo");
    assert.deepEqual(
      [usage.status, usage.body.status, usage.body.error?.message],
      [400, "invalid", "usage: echo <text>"],
    );
    const down = await run("helm list");
    assert.deepEqual(
      [down.status, down.body.executor, down.body.error?.message],
      [503, "helm", "unavailable: Unavailable: connection refused"],
    );
    const refused = await run("echo --forbid");
    assert.deepEqual([refused.status, refused.body.error?.code], [403, "forbidden"]);
  });

  test("a command past its deadline gets 504 while another one meanwhile answers", async () => {
    const started = Date.now();
    const slow = run("echo --sleep 5000 late");
    const fast = await run("echo quick");
    assert.equal(fast.body.output, "quick");
    const fastAt = Date.now() - started;
    const timedOut = await slow;
    assert.equal(timedOut.status, 504);
    assert.equal(timedOut.body.status, "timeout");
    assert.ok(fastAt < 300, `the second command answered after ${fastAt} ms`);
    assert.ok(Date.now() - started < 2_000);
  });

  test("oversized output is trimmed with a note", async () => {
    const { status, body } = await run("echo --repeat 3000 ab");
    assert.equal(status, 200);
    assert.equal(body.truncated, true);
    assert.ok(body.output.startsWith("ab".repeat(1000)));
    assert.match(body.output, /output truncated: showing the first 2000 of 6000 characters/);
  });

  test("malformed requests and missing tokens are refused clearly", async () => {
    const cases: [unknown, RegExp][] = [
      [{ cmd: "echo x" }, /"command" is required/],
      [{ command: 42 }, /"command" is required and must be a string/],
      [{ command: "echo x", user: 7 }, /"user" must be a string/],
      [["echo"], /must be a JSON object/],
    ];
    for (const [body, message] of cases) {
      const r = await run(body);
      assert.equal(r.status, 400);
      assert.equal(r.body.error?.code, "malformed");
      assert.match(r.body.error!.message, message);
    }
    const notJson = await fetch(`${ingress.url}/commands`, {
      method: "POST",
      headers: { authorization: "Bearer cli-token" },
      body: "echo x",
    });
    assert.equal(notJson.status, 400);
    assert.match(((await json(notJson)) as CommandAnswer).error!.message, /must be JSON/);
    const denied = await run("echo x", "wrong");
    assert.equal(denied.status, 401);
    assert.equal(denied.body.error?.code, "unauthenticated");
  });

  test("metrics record commands per executor and result", async () => {
    const text = await registry.metrics();
    assert.match(text, /patchbay_commands_total\{executor="echo",result="ok"\} \d+/);
    assert.match(text, /patchbay_commands_total\{executor="echo",result="timeout"\} 1/);
    assert.match(text, /patchbay_commands_total\{executor="helm",result="unavailable"\} 1/);
    assert.match(text, /patchbay_ingress_requests_total\{route="commands",code="504"\} 1/);
  });
});

test("without a dispatcher /commands answers 404", async (t) => {
  const ingress = await startTestIngress(t, { sources: new FakeSources([]), sink: new RecordingSink() });
  const response = await fetch(`${ingress.url}/commands`, { method: "POST", body: "{}" });
  assert.equal(response.status, 404);
  assert.match(((await json(response)) as CommandAnswer).error!.message, /does not dispatch commands/);
});
