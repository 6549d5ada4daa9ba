/** The cloudevents source as a real process: its ingress policy, its quiet stream, its config checks. */
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import type { DescribeResponse, Event, IngressPolicyResponse, SourceClient } from "@patchbay/sdk/protocol";
import { sourceClient, startPlugin, unary, waitFor, type StartedPlugin } from "../testing/index.ts";

describe("cloudevents source", () => {
  let plugin: StartedPlugin;
  let client: SourceClient;
  before(async () => {
    plugin = await startPlugin("plugins/cloudevents/main.ts");
    client = sourceClient(plugin.address);
  });
  after(async () => {
    client.close();
    await plugin.stop("SIGKILL");
  });

  const policy = (config: unknown) =>
    unary<IngressPolicyResponse>((m, o, cb) =>
      client.ingressPolicy({ sourceName: "keptn", configJson: JSON.stringify(config) }, m, o, cb),
    );

  it("describes itself as a source without external requests", async () => {
    const described = await unary<DescribeResponse>((m, o, cb) => client.describe({}, m, o, cb));
    assert.equal(described.name, "cloudevents");
    assert.equal(described.capabilities?.externalRequests, false);
    assert.ok(JSON.parse(described.configSchemaJson).properties.allowedTypes);
  });

  it("asks the ingress to accept its CloudEvents, every type by default", async () => {
    assert.deepEqual(await policy({}), { acceptCloudevents: true, allowedTypes: [] });
  });

  it("passes the configured allow-list of types, prefixes included", async () => {
    const allowedTypes = ["sh.keptn.event.*", "com.example.deploy.finished"];
    assert.deepEqual(await policy({ allowedTypes }), { acceptCloudevents: true, allowedTypes });
  });

  it("refuses a bad config with INVALID_ARGUMENT naming the field", async () => {
    for (const [config, problem] of [
      [{ allowedTypes: ["a*b"] }, /config\.allowedTypes\.0 must match pattern/],
      [{ allowedTypes: "sh.keptn.*" }, /config\.allowedTypes must be array/],
      [{ types: [] }, /unknown property 'types'/],
    ] as const) {
      await assert.rejects(policy(config), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
        assert.match(err.details, problem);
        return true;
      });
    }
    assert.equal((await policy({})).acceptCloudevents, true);
  });

  it("takes no webhooks: HandleExternalRequest is UNIMPLEMENTED", async () => {
    await assert.rejects(
      unary((m, o, cb) =>
        client.handleExternalRequest(
          {
            sourceName: "keptn",
            configJson: "",
            method: "POST",
            path: "/",
            headers: {},
            body: Buffer.alloc(0),
          },
          m,
          o,
          cb,
        ),
      ),
      { code: grpc.status.UNIMPLEMENTED },
    );
  });

  it("rejects a stream with a bad config", async () => {
    const call = client.stream(
      { sourceName: "keptn", configJson: '{"allowedTypes": 5}', resumeAfterId: "" },
      { deadline: Date.now() + 5000 },
    );
    call.on("data", () => assert.fail("no event expected"));
    const [err] = (await once(call, "error")) as [grpc.ServiceError];
    assert.equal(err.code, grpc.status.INVALID_ARGUMENT, err.message);
    assert.match(err.details, /config\.allowedTypes must be array/);
  });
});

describe("cloudevents source stream", () => {
  it("stays open without events and ends cleanly when the plugin shuts down", async () => {
    const plugin = await startPlugin("plugins/cloudevents/main.ts", { env: { PATCHBAY_LOG_LEVEL: "info" } });
    const client = sourceClient(plugin.address);
    try {
      const call = client.stream({ sourceName: "keptn", configJson: "{}", resumeAfterId: "" });
      const events: Event[] = [];
      call.on("data", (event: Event) => events.push(event));
      const status = once(call, "status") as Promise<[grpc.StatusObject]>;
      const ended = once(call, "end");
      await waitFor(() => plugin.stderr().includes("stream opened"), { what: "the stream to open" });
      await plugin.stop("SIGTERM");
      await ended;
      const [{ code }] = await status;
      assert.equal(code, grpc.status.OK);
      assert.deepEqual(events, []);
      assert.equal(plugin.child.exitCode, 0);
    } finally {
      client.close();
      await plugin.stop("SIGKILL");
    }
  });
});
