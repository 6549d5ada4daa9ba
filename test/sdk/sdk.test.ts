/** The SDK as a plugin author uses it: real plugin processes, called over real gRPC sockets. */
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import {
  ExecuteErrorCode,
  ExecutorClient,
  HealthCheckResponse_ServingStatus,
  HealthClient,
  PluginKind,
  PROTOCOL_VERSION,
  SourceClient,
  type Event,
} from "@patchbay/sdk/protocol";
import { serveSource } from "@patchbay/sdk";
import { startPluginProcess, type StartedPlugin } from "../support/plugin-process.ts";

const insecure = grpc.credentials.createInsecure();

function unary<Req, Res>(
  client: grpc.Client,
  method: (...args: never[]) => unknown,
  request: Req,
  timeoutMs = 5000,
): Promise<Res> {
  return new Promise((resolve, reject) =>
    (
      method as (r: Req, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: Error | null, r: Res) => void) => void
    ).call(client, request, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) =>
      err ? reject(err) : resolve(res),
    ),
  );
}

describe("an executor built with serveExecutor (echo plugin process)", () => {
  let plugin: StartedPlugin;
  let client: ExecutorClient;
  before(async () => {
    plugin = await startPluginProcess("plugins/echo/main.ts");
    client = new ExecutorClient(plugin.address, insecure);
  });
  after(async () => {
    client.close();
    await plugin.stop("SIGKILL");
  });

  it("answers Describe with its metadata, protocol version and config schema", async () => {
    const described = await unary<
      object,
      { protocolVersion: unknown; kind: number; name: string; version: string; configSchemaJson: string }
    >(client, client.describe, {});
    assert.deepEqual(described.protocolVersion, PROTOCOL_VERSION);
    assert.equal(described.kind, PluginKind.PLUGIN_KIND_EXECUTOR);
    assert.equal(described.name, "echo");
    assert.equal(described.version, "1.0.0");
    assert.equal(JSON.parse(described.configSchemaJson).properties.upperCase.type, "boolean");
  });

  it("serves grpc.health.v1 for the server and its service, and NOT_FOUND for others", async () => {
    const health = new HealthClient(plugin.address, insecure);
    for (const service of ["", "patchbay.v1.Executor"]) {
      const answer = await unary<object, { status: number }>(health, health.check, { service });
      assert.equal(answer.status, HealthCheckResponse_ServingStatus.SERVING);
    }
    await assert.rejects(unary(health, health.check, { service: "nope" }), { code: grpc.status.NOT_FOUND });
    health.close();
  });

  it("executes a command with the config's defaults applied", async () => {
    const answer = await unary<object, { output: string; errorCode: number }>(client, client.execute, {
      command: "echo hello world",
      args: ["echo", "hello", "world"],
      prefix: "echo",
      configJson: JSON.stringify({ upperCase: true }),
    });
    assert.equal(answer.output, "HELLO WORLD");
    assert.equal(answer.errorCode, ExecuteErrorCode.EXECUTE_ERROR_CODE_OK);
  });

  it("answers an ExecutorError as an error code with a reason, not a failed call", async () => {
    const answer = await unary<object, { errorCode: number; errorMessage: string }>(client, client.execute, {
      command: "echo",
      args: ["echo"],
      configJson: "{}",
    });
    assert.equal(answer.errorCode, ExecuteErrorCode.EXECUTE_ERROR_CODE_INVALID_ARGUMENT);
    assert.match(answer.errorMessage, /usage: echo/);
  });

  it("refuses a config its schema rejects before the plugin sees it, naming the field", async () => {
    await assert.rejects(
      unary(client, client.execute, {
        command: "echo x",
        args: ["echo", "x"],
        configJson: '{"upperCase":"loud"}',
      }),
      (err: grpc.ServiceError) =>
        err.code === grpc.status.INVALID_ARGUMENT && /config\.upperCase must be boolean/.test(err.details),
    );
    await assert.rejects(
      unary(client, client.execute, { command: "echo x", args: ["echo", "x"], configJson: '{"volume":11}' }),
      (err: grpc.ServiceError) => /unknown property 'volume'/.test(err.details),
    );
    await assert.rejects(
      unary(client, client.execute, { command: "echo x", args: ["echo", "x"], configJson: "{not json" }),
      (err: grpc.ServiceError) =>
        err.code === grpc.status.INVALID_ARGUMENT && /not valid JSON/.test(err.details),
    );
  });

  it("answers Help", async () => {
    const help = await unary<object, { text: string }>(client, client.help, { configJson: "{}" });
    assert.match(help.text, /echo <text>/);
  });
});

describe("graceful shutdown", () => {
  it("lets an in-flight Execute finish on SIGTERM, then exits 0", async () => {
    const plugin = await startPluginProcess("plugins/echo/main.ts", { PATCHBAY_LOG_LEVEL: "info" });
    const client = new ExecutorClient(plugin.address, insecure);
    const answer = unary<object, { output: string }>(client, client.execute, {
      command: "echo --sleep 400 done",
      args: ["echo", "--sleep", "400", "done"],
      configJson: "{}",
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    const exit = plugin.stop("SIGTERM");
    assert.equal((await answer).output, "done");
    assert.equal(await exit, 0);
    assert.match(plugin.stderr(), /"message":"plugin stopped"/);
    client.close();
  });

  it("ends open source streams cleanly on SIGTERM", async () => {
    const plugin = await startPluginProcess("plugins/heartbeat/main.ts");
    const client = new SourceClient(plugin.address, insecure);
    const stream = client.stream({
      sourceName: "hb",
      configJson: '{"intervalSeconds":0.05}',
      resumeAfterId: "",
    });
    const events: Event[] = [];
    stream.on("data", (event: Event) => events.push(event));
    await once(stream, "data");
    const ended = once(stream, "end");
    assert.equal(await plugin.stop("SIGTERM"), 0);
    await ended;
    assert.ok(events.length >= 1);
    assert.match(events[0]!.id, /^beat-\d+$/);
    client.close();
  });
});

describe("a source built with serveSource", () => {
  it("paces a producer that outruns the host instead of buffering without bound", async () => {
    let produced = 0;
    const plugin = await serveSource(
      {
        name: "flood",
        version: "0.0.1",
        async *stream({ signal }) {
          while (!signal.aborted) {
            produced++;
            yield { type: "flood", data: { padding: "x".repeat(1024) } };
          }
        },
      },
      { inProcess: true, address: "127.0.0.1:0" },
    );
    const client = new SourceClient(plugin.address, insecure);
    const stream = client.stream({ sourceName: "flood", configJson: "", resumeAfterId: "" });
    stream.on("error", () => {});
    try {
      // The host reads, then falls behind (stops reading): the producer must stall, not buffer.
      await once(stream, "data");
      stream.pause();
      await new Promise((resolve) => setTimeout(resolve, 300));
      const whilePaused = produced;
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(produced, whilePaused, "the producer kept going while the host was not reading");
      assert.ok(whilePaused < 5_000, `producer ran ${whilePaused} events ahead of the host`);
      stream.resume();
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.ok(produced > whilePaused, "the producer did not continue once the host read again");
    } finally {
      stream.cancel();
      client.close();
      await plugin.close();
    }
  });

  it("rejects an event without a type with a clear stream error", async () => {
    const plugin = await serveSource(
      {
        name: "broken",
        version: "0.0.1",
        async *stream() {
          yield { type: "" };
        },
      },
      { inProcess: true, address: "127.0.0.1:0" },
    );
    const client = new SourceClient(plugin.address, insecure);
    try {
      const stream = client.stream({ sourceName: "b", configJson: "", resumeAfterId: "" });
      const [err] = (await once(stream, "error")) as [grpc.ServiceError];
      assert.equal(err.code, grpc.status.INTERNAL);
      assert.match(err.details, /non-empty `type`/);
    } finally {
      client.close();
      await plugin.close();
    }
  });
});
