/**
 * The plain-JavaScript plugin, called with the host's own generated clients: if these agree, a plugin
 * built from the proto files alone speaks the protocol.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import {
  ExecuteErrorCode,
  HealthCheckResponse_ServingStatus as ServingStatus,
  HealthClient,
  PluginKind,
  PROTOCOL_VERSION,
  protocolIncompatibility,
  type DescribeResponse,
  type ExecuteResponse,
  type ExecutorClient,
  type HealthCheckResponse,
  type HelpResponse,
} from "@patchbay/sdk/protocol";
import { executorClient, startPlugin, unary, type StartedPlugin } from "../testing/index.ts";

describe("js-echo (plain JavaScript plugin)", () => {
  let plugin: StartedPlugin;
  let client: ExecutorClient;
  let health: HealthClient;
  before(async () => {
    plugin = await startPlugin("plugins/js-echo/main.mjs");
    client = executorClient(plugin.address);
    health = new HealthClient(plugin.address, grpc.credentials.createInsecure());
  });
  after(async () => {
    client.close();
    health.close();
    await plugin.stop("SIGKILL");
  });

  const execute = (args: string[], configJson = "") =>
    unary<ExecuteResponse>((m, o, cb) =>
      client.execute(
        { command: args.join(" "), args, prefix: "js-echo", configJson, context: undefined },
        m,
        o,
        cb,
      ),
    );

  it("prints the handshake line and answers Describe with protocol major 1", async () => {
    assert.match(plugin.address, /^127\.0\.0\.1:\d+$/);
    const described = await unary<DescribeResponse>((m, o, cb) => client.describe({}, m, o, cb));
    assert.equal(protocolIncompatibility(described.protocolVersion), undefined);
    assert.deepEqual(described.protocolVersion, PROTOCOL_VERSION);
    assert.equal(described.kind, PluginKind.PLUGIN_KIND_EXECUTOR);
    assert.equal(described.name, "js-echo");
    assert.equal(JSON.parse(described.configSchemaJson).properties.upperCase.type, "boolean");
  });

  it("serves grpc.health.v1 Check and Watch", async () => {
    for (const service of ["", "patchbay.v1.Executor"]) {
      const answer = await unary<HealthCheckResponse>((m, o, cb) => health.check({ service }, m, o, cb));
      assert.equal(answer.status, ServingStatus.SERVING);
    }
    await assert.rejects(
      unary((m, o, cb) => health.check({ service: "patchbay.v1.Source" }, m, o, cb)),
      { code: grpc.status.NOT_FOUND },
    );
    const watch = health.watch({ service: "" });
    watch.on("error", (err: grpc.ServiceError) => assert.equal(err.code, grpc.status.CANCELLED));
    const [first] = (await once(watch, "data")) as [HealthCheckResponse];
    assert.equal(first.status, ServingStatus.SERVING);
    watch.cancel();
  });

  it("executes with its config, and answers bad usage with an error code", async () => {
    const plain = await execute(["js-echo", "hello", "world"]);
    assert.deepEqual(
      [plain.output, plain.errorCode],
      ["hello world", ExecuteErrorCode.EXECUTE_ERROR_CODE_OK],
    );
    const shouted = await execute(["js-echo", "a", "b"], JSON.stringify({ upperCase: true, separator: "-" }));
    assert.equal(shouted.output, "A-B");
    const empty = await execute(["js-echo"]);
    assert.equal(empty.errorCode, ExecuteErrorCode.EXECUTE_ERROR_CODE_INVALID_ARGUMENT);
    assert.match(empty.errorMessage, /usage: js-echo <text>/);
  });

  it("answers Help", async () => {
    const help = await unary<HelpResponse>((m, o, cb) => client.help({ configJson: "" }, m, o, cb));
    assert.match(help.text, /js-echo <text>/);
  });

  it("refuses a bad config with INVALID_ARGUMENT naming the problem", async () => {
    for (const [configJson, problem] of [
      ["{nope", /config is not valid JSON/],
      ['{"upperCase": "yes"}', /config\.upperCase must be boolean/],
      ['{"loud": true}', /unknown property 'loud'/],
      ["[]", /config must be an object/],
    ] as const) {
      await assert.rejects(execute(["js-echo", "x"], configJson), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
        assert.match(err.details, problem);
        return true;
      });
    }
    assert.equal((await execute(["js-echo", "still", "here"])).output, "still here");
  });
});

describe("js-echo shutdown", () => {
  it("ends health watches and exits 0 on SIGTERM", async () => {
    const plugin = await startPlugin("plugins/js-echo/main.mjs");
    const health = new HealthClient(plugin.address, grpc.credentials.createInsecure());
    try {
      const watch = health.watch({ service: "patchbay.v1.Executor" });
      const statuses: number[] = [];
      watch.on("data", (answer: HealthCheckResponse) => statuses.push(answer.status));
      watch.on("error", () => {});
      const ended = once(watch, "end");
      await once(watch, "data");
      assert.equal(await plugin.stop("SIGTERM"), 0);
      await ended;
      assert.deepEqual(statuses, [ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    } finally {
      health.close();
      await plugin.stop("SIGKILL");
    }
  });
});
