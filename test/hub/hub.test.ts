/** The plugin host against real plugin processes over real sockets. */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import type { PluginCallError } from "../../src/hub/index.ts";
import { PluginHub, type PluginState } from "../../src/hub/index.ts";
import { runProcessPlugin, type RunningProcessPlugin } from "../../src/local/process-plugins.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { HealthService, PluginKind, SourceService, type DescribeResponse } from "@patchbay/sdk/protocol";
import type { CloudEvent } from "../../src/events/cloudevent.ts";
import { waitFor } from "../support/wait.ts";

const log = createLogger("test", "error");
const fastTimings = {
  backoffInitialMs: 50,
  backoffMaxMs: 500,
  stableAfterMs: 1_000,
  describeTimeoutMs: 2_000,
};

function startHub() {
  const events: CloudEvent[] = [];
  const transitions: PluginState[] = [];
  const hub = new PluginHub({ log, onEvent: (event) => events.push(event), timings: fastTimings });
  hub.on("state", (state) => transitions.push(state));
  return { hub, events, transitions };
}

const running: RunningProcessPlugin[] = [];
const hubs: PluginHub[] = [];
after(async () => {
  await Promise.all(running.map((plugin) => plugin.stop()));
  for (const hub of hubs) hub.close();
});

function run(hub: PluginHub, kind: "source" | "executor", name: string, file: string, config: unknown) {
  const plugin = runProcessPlugin(
    hub,
    {
      kind,
      name,
      config,
      process: { name: `${kind}/${name}`, command: ["node", file], env: { PATCHBAY_LOG_LEVEL: "error" } },
    },
    log,
    { restartInitialMs: 50, restartMaxMs: 200 },
  );
  running.push(plugin);
  hubs.push(hub);
  return plugin;
}

describe("a source plugin process", () => {
  it("streams events, and after kill -9 is restarted and resumes without gaps or duplicates", async () => {
    const { hub, events, transitions } = startHub();
    const plugin = run(hub, "source", "beats", "plugins/heartbeat/main.ts", {
      intervalSeconds: 0.02,
      // Replay must cover a restart however slow the machine is; the default (100 beats) is 2 s here.
      maxReplay: 100_000,
    });
    await waitFor(() => events.length >= 5, { what: "first events" });
    const first = events[0]!;
    assert.equal(first.specversion, "1.0");
    assert.equal(first.source, "beats");
    assert.equal(first.type, "dev.patchbay.heartbeat");
    assert.equal(first.severity, "info");
    assert.deepEqual(Object.keys(first.data as object).sort(), ["message", "tick"]);
    assert.equal(hub.state("source", "beats")?.phase, "Ready");

    for (let kill = 0; kill < 3; kill++) {
      const pid = plugin.process.pid!;
      const before = events.length;
      process.kill(pid, "SIGKILL");
      await waitFor(() => plugin.process.pid !== pid && hub.state("source", "beats")?.phase === "Ready", {
        what: "the restarted plugin to be ready",
      });
      await waitFor(() => events.length >= before + 5, { what: "events after the restart" });
    }
    assert.equal(plugin.process.restarts, 3);
    const noticed = transitions.filter((state) => state.phase === "Unavailable").map((state) => state.reason);
    assert.ok(noticed.includes("ProcessExited"), `transitions seen: ${noticed.join(", ")}`);

    const ticks = events.map((event) => (event.data as { tick: number }).tick);
    assert.equal(
      new Set(events.map((event) => event.id)).size,
      events.length,
      "an event id was delivered twice",
    );
    for (let i = 1; i < ticks.length; i++)
      assert.equal(ticks[i], ticks[i - 1]! + 1, `gap after tick ${ticks[i - 1]}`);
  });

  it("is refused with ConfigInvalid when its schema rejects the config, naming the field", async () => {
    const { hub } = startHub();
    run(hub, "source", "bad-config", "plugins/heartbeat/main.ts", { intervalSeconds: 0, colour: "red" });
    const state = await waitFor(() => {
      const current = hub.state("source", "bad-config");
      return current?.phase === "ConfigInvalid" && current;
    });
    assert.equal(state.reason, "ConfigInvalid");
    assert.match(state.message, /config\.intervalSeconds must be >= 0\.01/);
    assert.match(state.message, /unknown property 'colour'/);
  });
});

describe("an executor plugin process", () => {
  it("executes through the hub, honours its deadline, and keeps answering other commands", async () => {
    const { hub } = startHub();
    run(hub, "executor", "echo", "plugins/echo/main.ts", {});
    await waitFor(() => hub.state("executor", "echo")?.phase === "Ready", { what: "echo ready" });
    const request = (args: string[]) => ({
      command: args.join(" "),
      args,
      prefix: "echo",
      context: { user: "me", notifier: "", channel: "" },
    });

    const answer = await hub.execute("echo", request(["echo", "hello"]), 2_000);
    assert.deepEqual(answer, { output: "hello", message: undefined, errorCode: "ok", errorMessage: "" });

    const started = Date.now();
    const slow = hub.execute("echo", request(["echo", "--sleep", "5000", "late"]), 300);
    const meanwhile = await hub.execute("echo", request(["echo", "still", "here"]), 2_000);
    assert.equal(meanwhile.output, "still here");
    await assert.rejects(
      slow,
      (err: PluginCallError) => err.code === "timeout" && /within 300 ms/.test(err.message),
    );
    assert.ok(Date.now() - started < 2_000, "the deadline was not enforced");
    assert.match(await hub.help("echo", 2_000), /echo <text>/);
  });

  it("refuses calls to an unknown or not-ready executor with the reason", async () => {
    const { hub } = startHub();
    hubs.push(hub);
    await assert.rejects(
      hub.execute(
        "ghost",
        { command: "x", args: ["x"], prefix: "x", context: { user: "", notifier: "", channel: "" } },
        100,
      ),
      {
        code: "unavailable",
        message: "no executor plugin named 'ghost'",
      },
    );
    hub.upsert({ kind: "executor", name: "down", config: {}, address: "127.0.0.1:1" });
    const state = await waitFor(
      () => hub.state("executor", "down")?.phase === "Unavailable" && hub.state("executor", "down"),
    );
    assert.equal(state.reason, "ConnectionFailed");
    await assert.rejects(
      hub.execute(
        "down",
        { command: "x", args: ["x"], prefix: "x", context: { user: "", notifier: "", channel: "" } },
        100,
      ),
      (err: PluginCallError) => err.code === "unavailable" && /not ready/.test(err.message),
    );
  });
});

describe("plugins the host cannot use", () => {
  /** A hand-written plugin server that describes itself as we choose. */
  async function fakePlugin(
    describe: Partial<DescribeResponse>,
    health: { status: number; watch: boolean } = { status: 1, watch: true },
  ) {
    const server = new grpc.Server();
    const check = (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { status: health.status });
    const watch = (call: grpc.ServerWritableStream<unknown, unknown>) =>
      call.write({ status: health.status });
    // Without `watch`, grpc-js answers Health/Watch with UNIMPLEMENTED, as Check-only servers do.
    server.addService(HealthService, health.watch ? { check, watch } : { check });
    server.addService(SourceService, {
      describe: (_call: unknown, cb: grpc.sendUnaryData<unknown>) =>
        cb(null, {
          protocolVersion: { major: 1, minor: 0 },
          kind: PluginKind.PLUGIN_KIND_SOURCE,
          name: "fake",
          version: "9",
          description: "",
          configSchemaJson: "",
          ...describe,
        }),
      stream: () => {},
      handleExternalRequest: () => {},
      ingressPolicy: (_call: unknown, cb: grpc.sendUnaryData<unknown>) =>
        cb(null, { acceptCloudevents: false, allowedTypes: [] }),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    after(() => server.forceShutdown());
    return `127.0.0.1:${port}`;
  }

  it("refuses an incompatible protocol major version with a reason naming both versions", async () => {
    const address = await fakePlugin({ protocolVersion: { major: 2, minor: 3 } });
    const { hub } = startHub();
    hubs.push(hub);
    hub.upsert({ kind: "source", name: "future", config: {}, address });
    const state = await waitFor(
      () => hub.state("source", "future")?.phase === "Incompatible" && hub.state("source", "future"),
    );
    assert.equal(state.reason, "IncompatibleProtocol");
    assert.match(state.message, /v2\.3.*v1\.0/);
  });

  it("refuses a plugin of the wrong kind", async () => {
    const address = await fakePlugin({});
    const { hub } = startHub();
    hubs.push(hub);
    hub.upsert({ kind: "executor", name: "confused", config: {}, address });
    const state = await waitFor(
      () => hub.state("executor", "confused")?.phase === "Incompatible" && hub.state("executor", "confused"),
    );
    assert.equal(state.reason, "WrongKind");
    assert.match(state.message, /does not serve patchbay\.v1\.Executor/);
  });
  it("accepts a plugin whose health service serves only Check, and refuses one that is NOT_SERVING", async () => {
    const checkOnly = await fakePlugin({}, { status: 1, watch: false });
    const notServing = await fakePlugin({}, { status: 2, watch: false });
    const { hub } = startHub();
    hubs.push(hub);
    hub.upsert({ kind: "source", name: "check-only", config: {}, address: checkOnly });
    hub.upsert({ kind: "source", name: "not-serving", config: {}, address: notServing });
    await waitFor(() => hub.state("source", "check-only")?.phase === "Ready", { what: "check-only ready" });
    const state = await waitFor(
      () => hub.state("source", "not-serving")?.phase === "Unavailable" && hub.state("source", "not-serving"),
    );
    assert.match(state.message, /health check answers 2, not SERVING/);
  });
});
