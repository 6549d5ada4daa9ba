import { test } from "node:test";
import assert from "node:assert/strict";
import { Counter, Registry } from "prom-client";
import { startManagementServer } from "../../src/management/index.ts";

test("healthz, readyz and metrics on their own port", async (t) => {
  const registry = new Registry();
  new Counter({ name: "patchbay_test_total", help: "A test counter.", registers: [registry] }).inc(3);
  let informersSynced = false;
  const server = await startManagementServer({
    host: "127.0.0.1",
    port: 0,
    registry,
    checkTimeoutMs: 200,
    checks: {
      informers: () => (informersSynced ? undefined : "caches not synced yet"),
      router: async () => undefined,
    },
  });
  t.after(() => server.close());

  const health = await fetch(`${server.url}/healthz`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: "ok" });

  const notReady = await fetch(`${server.url}/readyz`);
  assert.equal(notReady.status, 503);
  assert.deepEqual(await notReady.json(), {
    error: { code: "not-ready", message: "not ready: informers: caches not synced yet" },
    failing: [{ check: "informers", reason: "caches not synced yet" }],
  });
  informersSynced = true;
  const ready = await fetch(`${server.url}/readyz`);
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { status: "ready", checks: ["informers", "router"] });

  const metrics = await fetch(`${server.url}/metrics`);
  assert.equal(metrics.status, 200);
  assert.equal(metrics.headers.get("content-type"), registry.contentType);
  assert.match(await metrics.text(), /^patchbay_test_total 3$/m);
});

test("a throwing or hanging check fails readiness with its reason", async (t) => {
  const server = await startManagementServer({
    host: "127.0.0.1",
    port: 0,
    registry: new Registry(),
    checkTimeoutMs: 100,
    checks: {
      broken: () => {
        throw new Error("lease lost");
      },
      stuck: () => new Promise<undefined>(() => {}),
      fine: () => undefined,
    },
  });
  t.after(() => server.close());
  const response = await fetch(`${server.url}/readyz`);
  assert.equal(response.status, 503);
  const body = (await response.json()) as { failing: { check: string; reason: string }[] };
  assert.deepEqual(body.failing, [
    { check: "broken", reason: "check failed: lease lost" },
    { check: "stuck", reason: "timed out after 100 ms" },
  ]);
});

test("unknown paths and wrong methods get JSON errors", async (t) => {
  const server = await startManagementServer({ host: "127.0.0.1", port: 0, registry: new Registry() });
  t.after(() => server.close());
  const missing = await fetch(`${server.url}/nope`);
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as { error: { code: string } }).error.code, "not-found");
  const post = await fetch(`${server.url}/healthz`, { method: "POST" });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET, HEAD");
  assert.match(
    ((await post.json()) as { error: { message: string } }).error.message,
    /POST is not allowed on \/healthz/,
  );
  const ready = await fetch(`${server.url}/readyz`);
  assert.equal(ready.status, 200, "no checks means ready");
});
