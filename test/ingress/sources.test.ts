import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { serveSource, type RunningPlugin } from "@patchbay/sdk";
import type { RunningIngress } from "../../src/ingress/index.ts";
import { FakeSources, json, RecordingSink, startTestIngress } from "./fakes.ts";
import { GrpcSourceDirectory } from "./grpc-sources.ts";

async function expectError(response: Response, status: number, code: string, message: RegExp): Promise<void> {
  const body = (await json(response)) as { error: { code: string; message: string } };
  assert.equal(response.status, status, JSON.stringify(body));
  assert.equal(body.error.code, code);
  assert.match(body.error.message, message);
}

describe("/sources/<name>/<path> through a real source plugin over gRPC", () => {
  let webhook: RunningPlugin;
  let streamOnly: RunningPlugin;
  let directory: GrpcSourceDirectory;
  let ingress: RunningIngress;
  const sink = new RecordingSink();

  before(async () => {
    webhook = await serveSource(
      {
        name: "webhook",
        version: "1.0.0",
        async handleRequest(request) {
          if (request.path.startsWith("/slow")) await sleep(1_000);
          if (request.path.startsWith("/crash")) throw new Error("the webhook parser blew up");
          const payload = request.body.length > 0 ? JSON.parse(request.body.toString("utf8")) : {};
          return {
            status: 201,
            headers: { "x-plugin": "yes", "content-type": "application/json" },
            body: { seen: { method: request.method, path: request.path, headers: request.headers } },
            events: (payload.alerts ?? []).map((a: { id: string; name: string }) => ({
              id: a.id,
              type: "dev.example.alert",
              subject: a.name,
              severity: "error",
              data: a,
            })),
          };
        },
      },
      { inProcess: true, address: "127.0.0.1:0", shutdownGraceMs: 100 },
    );
    streamOnly = await serveSource(
      { name: "ticker", version: "1.0.0", async *stream() {} },
      { inProcess: true, address: "127.0.0.1:0", shutdownGraceMs: 100 },
    );
    directory = new GrpcSourceDirectory();
    await directory.add("alertmanager", webhook.address);
    await directory.add("ticker", streamOnly.address);
    ingress = await startTestIngress(undefined, {
      sources: directory,
      sink,
      auth: { tokens: ["hook-token"] },
      externalRequestTimeoutMs: 300,
    });
  });
  after(async () => {
    await ingress.close(100);
    directory.close();
    await Promise.all([webhook.close(), streamOnly.close()]);
  });

  test("forwards method, path, query, headers (minus Authorization) and body; routes the events", async () => {
    const alerts = [
      { id: "a1", name: "HighLatency" },
      { id: "a2", name: "DiskFull" },
    ];
    const response = await fetch(`${ingress.url}/sources/alertmanager/api/v2/alerts?team=ops&x=1`, {
      method: "POST",
      headers: { authorization: "Bearer hook-token", "content-type": "application/json", "X-Hook-Id": "h-7" },
      body: JSON.stringify({ alerts }),
    });
    assert.equal(response.status, 201);
    assert.equal(response.headers.get("x-plugin"), "yes");
    const { seen } = (await json(response)) as {
      seen: { method: string; path: string; headers: Record<string, string> };
    };
    assert.equal(seen.method, "POST");
    assert.equal(seen.path, "/api/v2/alerts?team=ops&x=1");
    assert.equal(seen.headers["x-hook-id"], "h-7");
    assert.equal(seen.headers["content-type"], "application/json");
    assert.equal(seen.headers.authorization, undefined, "Authorization must not reach the plugin");
    assert.equal(seen.headers.host, undefined);
    assert.deepEqual(
      sink.events.map((e) => ({
        source: e.source,
        id: e.id,
        type: e.type,
        subject: e.subject,
        severity: e.severity,
        data: e.data,
      })),
      alerts.map((a) => ({
        source: "alertmanager",
        id: a.id,
        type: "dev.example.alert",
        subject: a.name,
        severity: "error",
        data: a,
      })),
    );
  });

  test("a path-less request reaches the plugin as /", async () => {
    const response = await fetch(`${ingress.url}/sources/alertmanager`, {
      method: "PUT",
      headers: { authorization: "Bearer hook-token" },
    });
    const { seen } = (await json(response)) as { seen: { method: string; path: string } };
    assert.deepEqual(seen, { ...seen, method: "PUT", path: "/" });
  });

  test("needs the bearer token", async () => {
    const response = await fetch(`${ingress.url}/sources/alertmanager/x`, { method: "POST", body: "{}" });
    assert.equal(response.headers.get("www-authenticate"), "Bearer");
    await expectError(response, 401, "unauthenticated", /Bearer/);
  });

  test("a source that does not take external requests: 404 with the reason", async () => {
    const response = await fetch(`${ingress.url}/sources/ticker/x`, {
      method: "POST",
      headers: { authorization: "Bearer hook-token" },
    });
    await expectError(
      response,
      404,
      "external-requests-unsupported",
      /"ticker" does not accept external requests/,
    );
  });

  test("a plugin past the deadline: 504; a plugin that fails: 502", async () => {
    const auth = { authorization: "Bearer hook-token" };
    const started = Date.now();
    const slow = await fetch(`${ingress.url}/sources/alertmanager/slow`, { method: "POST", headers: auth });
    await expectError(slow, 504, "source-timeout", /"alertmanager" could not handle the request/);
    assert.ok(Date.now() - started < 900);
    const crash = await fetch(`${ingress.url}/sources/alertmanager/crash`, { method: "POST", headers: auth });
    await expectError(crash, 502, "source-failed", /the webhook parser blew up/);
  });

  test("a plugin that is down: 503", async () => {
    const gone = await serveSource(
      { name: "gone", version: "1.0.0", handleRequest: async () => ({}) },
      { inProcess: true, address: "127.0.0.1:0", shutdownGraceMs: 50 },
    );
    await directory.add("gone", gone.address);
    await gone.close();
    const response = await fetch(`${ingress.url}/sources/gone/x`, {
      method: "POST",
      headers: { authorization: "Bearer hook-token" },
    });
    await expectError(response, 503, "source-unavailable", /"gone" could not handle the request/);
  });
});

describe("/sources edge cases", () => {
  test("unknown, unnamed and not-ready sources; an invalid status from the plugin", async (t) => {
    const sources = new FakeSources([
      { name: "booting", ready: false, reason: "Connecting", acceptsExternalRequests: true },
      { name: "odd", acceptsExternalRequests: true },
    ]);
    sources.handler = async () => ({ status: 42, headers: {}, body: Buffer.alloc(0), events: [] });
    const ingress = await startTestIngress(t, { sources, sink: new RecordingSink() });
    await expectError(
      await fetch(`${ingress.url}/sources/nope/x`, { method: "POST" }),
      404,
      "unknown-source",
      /"nope"/,
    );
    await expectError(
      await fetch(`${ingress.url}/sources/`, { method: "POST" }),
      404,
      "not-found",
      /name a source/,
    );
    const booting = await fetch(`${ingress.url}/sources/booting/x`, { method: "POST" });
    assert.equal(booting.headers.get("retry-after"), "10");
    await expectError(booting, 503, "source-not-ready", /"booting" is not ready: Connecting/);
    await expectError(
      await fetch(`${ingress.url}/sources/odd/x`, { method: "POST" }),
      502,
      "source-failed",
      /invalid HTTP status 42/,
    );
    assert.equal(sources.requests.length, 1, "only the ready, known source was called");
  });

  test("hop-by-hop headers from the plugin are not passed on", async (t) => {
    const sources = new FakeSources([{ name: "hook", acceptsExternalRequests: true }]);
    sources.handler = async () => ({
      status: 200,
      headers: { connection: "close", "transfer-encoding": "chunked", "content-length": "999", "x-ok": "1" },
      body: Buffer.from("fine"),
      events: [],
    });
    const ingress = await startTestIngress(t, { sources, sink: new RecordingSink() });
    const response = await fetch(`${ingress.url}/sources/hook/`, { method: "POST" });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("x-ok"), "1");
    assert.equal(response.headers.get("content-length"), "4");
    assert.equal(await response.text(), "fine");
  });
});
