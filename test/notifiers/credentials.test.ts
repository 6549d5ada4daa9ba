/**
 * Finding 3 of issue 17: a webhook URL with user:password@ or ?token= was logged whole when a delivery
 * failed. Deliveries fail here in each way that used to print a credential, and the captured log output
 * must not contain one; a URL with credentials is refused when the notifier is built.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import winston from "winston";
import type { Notifier, NotifierSpec } from "../../src/api/v1alpha1/index.ts";
import { DataPlane } from "../../src/app/index.ts";
import { createNotifierSink, NotifierConfigError, WebhookSink } from "../../src/notifiers/index.ts";
import { createLogger, type Logger } from "../../src/observability/logger.ts";
import { LocalSecretResolver } from "../../src/secrets/index.ts";
import { answer, event, newRouter, startReceiver, waitFor } from "../router/helpers.ts";

const PASSWORD = "hunter2-PASSWORD";
const TOKEN = "q-TOKEN-0123456789";
const HEADER = "Bearer HEADER-VALUE-abcdef";

/** A logger exactly as Patchbay builds one, writing to a buffer instead of stderr. */
function capturedLogger(): { log: Logger; output: () => string } {
  const log = createLogger("credentials-test", "debug");
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
  log.clear();
  log.add(new winston.transports.Stream({ stream }));
  return { log, output: () => text };
}

function assertNoCredentials(text: string): void {
  for (const secret of [PASSWORD, TOKEN, "HEADER-VALUE"])
    assert.ok(!text.includes(secret), `${secret} in ${text}`);
}

describe("a failing delivery logs no credentials", () => {
  test("URL userinfo, a query token, a header value and a receiver that echoes the request", async (t) => {
    const echoing = await startReceiver((request, response) =>
      // An error page quoting what it was sent, as some proxies do.
      response.writeHead(400).end(`bad request to ${request.path} with ${request.headers.authorization}`),
    );
    t.after(() => echoing.close());
    const { log, output } = capturedLogger();
    const { router } = newRouter({ logger: log });
    const base = new URL(echoing.url);
    const route = (name: string, sink: WebhookSink) => ({
      name,
      type: "webhook",
      sink,
      delivery: { maxRetries: 0, ratePerSecond: 0, timeoutSeconds: 2 },
    });
    router.setNotifiers([
      route("userinfo", new WebhookSink(`http://admin:${PASSWORD}@${base.host}/hook?token=${TOKEN}`)),
      route(
        "bad-header",
        new WebhookSink(`${base.origin}/hook`, { headers: { authorization: `${HEADER}\nx-injected: 1` } }),
      ),
      route(
        "echoed",
        new WebhookSink(`${base.origin}/hook?access_token=${TOKEN}`, { headers: { authorization: HEADER } }),
      ),
    ]);
    router.publish(event("1"));
    await waitFor(
      () => Object.values(router.stats().notifiers).every((stats) => stats.failed === 1),
      "all three failed",
    );
    await router.drain(100);
    const text = output();
    assertNoCredentials(text);
    // The failures are still explained, with the endpoint named as far as it is safe to.
    assert.match(
      text,
      /Request cannot be constructed from a URL that includes credentials: http:\/\/127\.0\.0\.1:\d+\/…/,
    );
    assert.match(text, /is an invalid header value/);
    assert.match(text, /HTTP 400: bad request to \/hook\?access_token=\*\*\* with \*\*\*/);
  });

  test("a token in the query of a URL that cannot be reached", async (t) => {
    const down = await startReceiver(answer(200));
    await down.stop();
    t.after(() => down.close());
    const sink = new WebhookSink(`${down.url}/x?sig=${TOKEN}`);
    const outcome = await sink.deliver(event("2"), AbortSignal.timeout(2_000));
    assert.ok(outcome.kind === "retry", JSON.stringify(outcome));
    assert.ok(!outcome.reason.includes(TOKEN), outcome.reason);
  });
});

describe("the logger's safety net", () => {
  test("masks credentials in the message, in meta, in nested objects and errors; leaves the caller's objects alone", () => {
    const { log, output } = capturedLogger();
    const headers = { authorization: HEADER, "x-api-key": TOKEN, accept: "application/json" };
    log.warn(`posting to https://bot:${PASSWORD}@example.com/hook?api_key=${TOKEN}&page=2 failed`, {
      target: `http://example.com/x?signature=${TOKEN}`,
      headers,
      nested: { list: [`see https://u:${PASSWORD}@h.example/`] },
      error: new Error(`fetch failed for https://user:${PASSWORD}@example.com/`),
      note: `got ${HEADER}`,
    });
    const text = output();
    assertNoCredentials(text);
    const entry = JSON.parse(text) as Record<string, unknown>;
    assert.equal(entry.message, "posting to https://***@example.com/hook?api_key=***&page=2 failed");
    assert.deepEqual(entry.headers, { authorization: "***", "x-api-key": "***", accept: "application/json" });
    assert.equal(entry.note, "got Bearer ***");
    assert.equal(headers.authorization, HEADER, "the caller's object is not changed");
  });

  test("ordinary lines pass unchanged", () => {
    const { log, output } = capturedLogger();
    log.info("notifiers added", { notifiers: ["a", "b"], url: "https://example.com/path?page=2", count: 3 });
    const entry = JSON.parse(output()) as Record<string, unknown>;
    assert.deepEqual(
      [entry.message, entry.notifiers, entry.url, entry.count],
      ["notifiers added", ["a", "b"], "https://example.com/path?page=2", 3],
    );
  });
});

describe("a notifier URL with credentials is a configuration error", () => {
  const secrets = new LocalSecretResolver({
    env: {
      HOOK: `https://admin:${PASSWORD}@hooks.example.com/in`,
      SLACK: `https://x:${PASSWORD}@hooks.slack.com/services/T/B/C`,
    },
  });

  test("webhook: refused, saying to use a header from a Secret, without echoing the URL", async () => {
    const spec: NotifierSpec = { type: "webhook", webhook: { url: { env: "HOOK" } } };
    await assert.rejects(createNotifierSink(spec, { secrets }), (error: Error) => {
      assert.ok(error instanceof NotifierConfigError);
      assert.match(
        error.message,
        /^spec\.webhook\.url: the URL must not carry credentials \(user:password@\); .* header from a Secret/,
      );
      assertNoCredentials(error.message);
      return true;
    });
  });

  test("every platform's webhook URL is checked the same way", async () => {
    const spec: NotifierSpec = { type: "slack", slack: { webhookUrl: { env: "SLACK" } } };
    await assert.rejects(
      createNotifierSink(spec, { secrets }),
      /^NotifierConfigError: spec\.slack\.webhookUrl: the URL must not carry credentials/,
    );
  });

  test("the data plane reports it as that notifier's problem, and applies the others", async () => {
    const plane = new DataPlane({
      ingress: { host: "127.0.0.1", port: 0 },
      management: { host: "127.0.0.1", port: 0 },
      secrets,
      log: createLogger("credentials-test", "error"),
    });
    const notifier = (name: string, spec: NotifierSpec): Notifier =>
      ({ apiVersion: "patchbay.dev/v1alpha1", kind: "Notifier", metadata: { name }, spec }) as Notifier;
    const problems = await plane.setNotifiers([
      notifier("with-password", { type: "webhook", webhook: { url: { env: "HOOK" } } }),
      notifier("fine", { type: "log" }),
    ]);
    assert.deepEqual(
      problems.map((problem) => problem.name),
      ["with-password"],
    );
    assert.match(problems[0]!.message, /must not carry credentials/);
    assert.deepEqual(Object.keys(plane.router.stats().notifiers), ["fine"]);
    await plane.stop(0);
  });
});
