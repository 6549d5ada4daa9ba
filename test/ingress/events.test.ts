import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { Registry } from "prom-client";
import { FakeSources, json, RecordingSink, startTestIngress } from "./fakes.ts";

const STRUCTURED = "application/cloudevents+json";
const BATCH = "application/cloudevents-batch+json";

function sources(): FakeSources {
  return new FakeSources([
    { name: "alerts" },
    { name: "keptn", allowedTypes: ["sh.keptn.event.*", "dev.example.exact"] },
    { name: "kubernetes", acceptsCloudEvents: false },
    { name: "booting", ready: false, reason: "Unavailable: connection refused" },
  ]);
}

const event = {
  specversion: "1.0",
  id: "evt-1",
  source: "alerts",
  type: "dev.example.alert.firing",
  time: "2024-05-01T12:00:00Z",
  subject: "pod/web-1",
  datacontenttype: "application/json",
  data: { labels: { severity: "page" }, value: 0 },
  severity: "critical",
  region: "eu1",
  attempt: 3,
  replayed: false,
};

async function post(url: string, body: string | Buffer, headers: Record<string, string>): Promise<Response> {
  return fetch(url, { method: "POST", body, headers });
}

async function expectError(response: Response, status: number, code: string, message: RegExp): Promise<void> {
  const body = (await json(response)) as { error: { code: string; message: string } };
  assert.equal(response.status, status, JSON.stringify(body));
  assert.equal(body.error.code, code);
  assert.match(body.error.message, message);
}

describe("POST /events accepts every content mode", () => {
  test("structured: 202 and the event published exactly as sent", async (t) => {
    const sink = new RecordingSink();
    const registry = new Registry();
    const ingress = await startTestIngress(t, { sources: sources(), sink, registry });
    const response = await post(`${ingress.url}/events`, JSON.stringify(event), {
      "content-type": STRUCTURED,
    });
    assert.equal(response.status, 202);
    assert.equal(await response.text(), "");
    assert.deepEqual(sink.events, [event]);
    assert.match(
      await registry.metrics(),
      /patchbay_ingress_events_accepted_total\{source="alerts",mode="structured"\} 1/,
    );
    assert.match(await registry.metrics(), /patchbay_ingress_requests_total\{route="events",code="202"\} 1/);
  });

  test("structured with a charset parameter, falsy data kept, no time gets one", async (t) => {
    const sink = new RecordingSink();
    const ingress = await startTestIngress(t, { sources: sources(), sink });
    const { time: _time, ...noTime } = { ...event, data: false };
    const response = await post(`${ingress.url}/events`, JSON.stringify(noTime), {
      "content-type": `${STRUCTURED}; charset=utf-8`,
    });
    assert.equal(response.status, 202);
    assert.equal(sink.events[0]!.data, false);
    assert.ok(Math.abs(Date.parse(sink.events[0]!.time) - Date.now()) < 5_000);
  });

  test("binary: ce-* headers and the body as data", async (t) => {
    const sink = new RecordingSink();
    const ingress = await startTestIngress(t, { sources: sources(), sink });
    const headers = {
      "ce-specversion": "1.0",
      "ce-id": "b-1",
      "ce-source": "alerts",
      "ce-type": "dev.example.alert.firing",
      "ce-time": "2024-05-01T12:00:00.123+02:00",
      "ce-subject": "pod/web-1",
      "ce-severity": "warning",
      "ce-region": "caf%C3%A9",
    };
    const jsonResponse = await post(`${ingress.url}/events`, JSON.stringify({ a: [1, 2] }), {
      ...headers,
      "content-type": "application/json",
    });
    assert.equal(jsonResponse.status, 202);
    const text = await post(`${ingress.url}/events`, "hello", {
      ...headers,
      "ce-id": "b-2",
      "content-type": "text/plain",
    });
    assert.equal(text.status, 202);
    const bytes = await post(`${ingress.url}/events`, Buffer.from([0, 1, 255]), {
      ...headers,
      "ce-id": "b-3",
      "content-type": "application/octet-stream",
    });
    assert.equal(bytes.status, 202);
    const common = {
      specversion: "1.0",
      source: "alerts",
      type: "dev.example.alert.firing",
      time: "2024-05-01T12:00:00.123+02:00",
      subject: "pod/web-1",
      severity: "warning",
      region: "café",
    };
    assert.deepEqual(sink.events, [
      { ...common, id: "b-1", datacontenttype: "application/json", data: { a: [1, 2] } },
      { ...common, id: "b-2", datacontenttype: "text/plain", data: "hello" },
      { ...common, id: "b-3", datacontenttype: "application/octet-stream", data_base64: "AAH/" },
    ]);
  });

  test("batch: 202 and every event published in order", async (t) => {
    const sink = new RecordingSink();
    const ingress = await startTestIngress(t, { sources: sources(), sink });
    const batch = [
      event,
      { ...event, id: "evt-2", source: "keptn", type: "sh.keptn.event.deployment.finished" },
      {
        specversion: "1.0",
        id: "evt-3",
        source: "keptn",
        type: "dev.example.exact",
        time: "2024-05-01T12:00:01Z",
      },
    ];
    const response = await post(`${ingress.url}/events`, JSON.stringify(batch), { "content-type": BATCH });
    assert.equal(response.status, 202);
    assert.deepEqual(sink.events, batch);
  });

  test("an invalid severity is dropped, the event kept", async (t) => {
    const sink = new RecordingSink();
    const ingress = await startTestIngress(t, { sources: sources(), sink });
    const response = await post(
      `${ingress.url}/events`,
      JSON.stringify({ ...event, severity: "apocalyptic" }),
      {
        "content-type": STRUCTURED,
      },
    );
    assert.equal(response.status, 202);
    assert.equal(sink.events[0]!.severity, undefined);
    assert.equal(sink.events[0]!.id, "evt-1");
  });
});

describe("POST /events refuses with a status and a JSON error that names the problem", () => {
  const cases: {
    name: string;
    body: unknown;
    type?: string;
    headers?: Record<string, string>;
    status: number;
    code: string;
    message: RegExp;
  }[] = [
    {
      name: "unknown source",
      body: { ...event, source: "nope" },
      status: 404,
      code: "unknown-source",
      message: /no SourcePlugin is named "nope"/,
    },
    {
      name: "source not opted in",
      body: { ...event, source: "kubernetes" },
      status: 403,
      code: "source-refuses-cloudevents",
      message: /"kubernetes" does not accept CloudEvents/,
    },
    {
      name: "type not allowed",
      body: { ...event, source: "keptn", type: "dev.example.other" },
      status: 403,
      code: "type-not-allowed",
      message: /type "dev.example.other"; allowed: sh.keptn.event.\*, dev.example.exact/,
    },
    {
      name: "source not ready",
      body: { ...event, source: "booting" },
      status: 503,
      code: "source-not-ready",
      message: /"booting" is not ready: Unavailable: connection refused/,
    },
    {
      name: "malformed JSON",
      body: '{"specversion": "1.0", ',
      status: 400,
      code: "malformed",
      message: /the event is not valid JSON/,
    },
    { name: "empty body", body: "", status: 400, code: "malformed", message: /the event is empty/ },
    { name: "not an object", body: "42", status: 400, code: "malformed", message: /must be a JSON object/ },
    {
      name: "array in structured mode",
      body: [event],
      status: 400,
      code: "malformed",
      message: /application\/cloudevents-batch\+json/,
    },
    {
      name: "missing attributes",
      body: { specversion: "1.0", source: "alerts" },
      status: 400,
      code: "missing-attributes",
      message: /required attributes missing: id, type/,
    },
    { name: "empty id", body: { ...event, id: "" }, status: 400, code: "missing-attributes", message: /id/ },
    {
      name: "wrong specversion",
      body: { ...event, specversion: "0.3" },
      status: 400,
      code: "unsupported-specversion",
      message: /specversion "0.3" is not supported/,
    },
    {
      name: "bad time",
      body: { ...event, time: "yesterday" },
      status: 400,
      code: "invalid-attribute",
      message: /time "yesterday" is not an RFC 3339 timestamp/,
    },
    {
      name: "bad attribute name",
      body: { ...event, "Bad-Name": 1 },
      status: 400,
      code: "invalid-attribute",
      message: /"Bad-Name"/,
    },
    {
      name: "object extension",
      body: { ...event, nested: { a: 1 } },
      status: 400,
      code: "invalid-attribute",
      message: /extension attribute "nested"/,
    },
    {
      name: "schema violation",
      body: { ...event, dataschema: "not a uri" },
      status: 400,
      code: "invalid-event",
      message: /dataschema must match format "uri"/,
    },
    {
      name: "not a CloudEvent",
      body: "hello",
      type: "text/plain",
      status: 400,
      code: "not-a-cloudevent",
      message: /no CloudEvent found/,
    },
    {
      name: "non-JSON structured format",
      body: "<e/>",
      type: "application/cloudevents+xml",
      status: 415,
      code: "unsupported-media-type",
      message: /must be JSON/,
    },
    {
      name: "batch not an array",
      body: event,
      type: BATCH,
      status: 400,
      code: "malformed",
      message: /a batch must be a JSON array/,
    },
    { name: "empty batch", body: [], type: BATCH, status: 400, code: "malformed", message: /no events/ },
    {
      name: "batch with a bad event",
      body: [event, { ...event, id: "x", source: "nope" }],
      type: BATCH,
      status: 404,
      code: "unknown-source",
      message: /^event 1 of the batch: no SourcePlugin is named "nope"/,
    },
    {
      name: "batch with a malformed event",
      body: [event, { ...event, type: undefined }],
      type: BATCH,
      status: 400,
      code: "missing-attributes",
      message: /^event 1 of the batch: required attribute missing: type/,
    },
    {
      name: "binary missing headers",
      body: "{}",
      headers: { "ce-specversion": "1.0", "ce-source": "alerts", "content-type": "application/json" },
      status: 400,
      code: "missing-attributes",
      message: /required attributes missing: ce-id, ce-type/,
    },
    {
      name: "binary malformed JSON data",
      body: "{nope",
      headers: {
        "ce-specversion": "1.0",
        "ce-id": "1",
        "ce-source": "alerts",
        "ce-type": "t",
        "content-type": "application/json",
      },
      status: 400,
      code: "malformed",
      message: /not valid JSON although Content-Type is application\/json/,
    },
    {
      name: "binary bad percent-encoding",
      body: "",
      headers: {
        "ce-specversion": "1.0",
        "ce-id": "1",
        "ce-source": "alerts",
        "ce-type": "t",
        "ce-x": "%E0%A4%A",
      },
      status: 400,
      code: "invalid-attribute",
      message: /ce-x has a malformed percent-encoding/,
    },
  ];

  test("each error class", async (t) => {
    const sink = new RecordingSink();
    const ingress = await startTestIngress(t, { sources: sources(), sink });
    for (const c of cases) {
      const body = typeof c.body === "string" ? c.body : JSON.stringify(c.body);
      const response = await post(
        `${ingress.url}/events`,
        body,
        c.headers ?? { "content-type": c.type ?? STRUCTURED },
      );
      await t.test(c.name, () => expectError(response, c.status, c.code, c.message));
    }
    assert.deepEqual(sink.events, [], "nothing refused may reach the router");
  });

  test("oversized bodies get 413, whether declared or streamed", async (t) => {
    const sink = new RecordingSink();
    const ingress = await startTestIngress(t, { sources: sources(), sink, maxBodyBytes: 1_000 });
    const big = JSON.stringify({ ...event, data: "x".repeat(2_000) });
    await expectError(
      await post(`${ingress.url}/events`, big, { "content-type": STRUCTURED }),
      413,
      "payload-too-large",
      /limited to 1000 bytes; this one is 2\d{3} bytes/,
    );
    const chunks = async function* () {
      for (let i = 0; i < 10; i++) yield Buffer.from("x".repeat(500));
    };
    const streamed = await fetch(`${ingress.url}/events`, {
      method: "POST",
      body: ReadableStream.from(chunks()),
      headers: { "content-type": STRUCTURED },
      duplex: "half",
    } as RequestInit);
    await expectError(streamed, 413, "payload-too-large", /limited to 1000 bytes/);
    assert.equal(sink.events.length, 0);
  });

  test("the default limit is 1 MiB", async (t) => {
    const ingress = await startTestIngress(t, { sources: sources(), sink: new RecordingSink() });
    const almost = JSON.stringify({ ...event, data: "x".repeat(1024 * 1024 - 400) });
    assert.equal((await post(`${ingress.url}/events`, almost, { "content-type": STRUCTURED })).status, 202);
    const over = JSON.stringify({ ...event, data: "x".repeat(1024 * 1024) });
    assert.equal((await post(`${ingress.url}/events`, over, { "content-type": STRUCTURED })).status, 413);
  });

  test("bearer tokens: none or a wrong one is 401 with WWW-Authenticate; a right one passes", async (t) => {
    const sink = new RecordingSink();
    const ingress = await startTestIngress(t, {
      sources: sources(),
      sink,
      auth: { tokens: ["s3cret", "other-token"] },
    });
    const body = JSON.stringify(event);
    const none = await post(`${ingress.url}/events`, body, { "content-type": STRUCTURED });
    assert.equal(none.headers.get("www-authenticate"), "Bearer");
    await expectError(none, 401, "unauthenticated", /Authorization: Bearer <token>/);
    const wrong = await post(`${ingress.url}/events`, body, {
      "content-type": STRUCTURED,
      authorization: "Bearer s3cre",
    });
    assert.match(wrong.headers.get("www-authenticate") ?? "", /^Bearer error="invalid_token"/);
    await expectError(wrong, 401, "unauthenticated", /not valid/);
    const basic = await post(`${ingress.url}/events`, body, {
      "content-type": STRUCTURED,
      authorization: "Basic czNjcmV0",
    });
    await expectError(basic, 401, "unauthenticated", /Bearer <token>/);
    assert.equal(sink.events.length, 0);
    const right = await post(`${ingress.url}/events`, body, {
      "content-type": STRUCTURED,
      authorization: "Bearer other-token",
    });
    assert.equal(right.status, 202);
    assert.equal(sink.events.length, 1);
  });

  test("wrong methods, unknown routes and bad URLs get the same JSON shape", async (t) => {
    const ingress = await startTestIngress(t, { sources: sources(), sink: new RecordingSink() });
    const get = await fetch(`${ingress.url}/events`);
    assert.equal(get.headers.get("allow"), "POST");
    await expectError(get, 405, "method-not-allowed", /GET is not allowed on \/events; use POST/);
    await expectError(
      await fetch(`${ingress.url}/nowhere`, { method: "POST" }),
      404,
      "not-found",
      /no route for POST \/nowhere/,
    );
    await expectError(await fetch(`${ingress.url}/commands`), 405, "method-not-allowed", /use POST/);
    await expectError(
      await fetch(`${ingress.url}/sources/%E0%A4%A/x`, { method: "POST" }),
      400,
      "bad-request",
      /malformed percent-encoding/,
    );
  });
});

describe("the server defends itself", () => {
  test("oversized headers get 431 with a JSON error", async (t) => {
    const ingress = await startTestIngress(t, {
      sources: sources(),
      sink: new RecordingSink(),
      maxHeaderBytes: 4_096,
    });
    const response = await post(`${ingress.url}/events`, "{}", {
      "content-type": STRUCTURED,
      "x-padding": "x".repeat(8_000),
    });
    await expectError(response, 431, "headers-too-large", /too large/);
  });

  test("a slow-loris connection is cut off, and the server keeps serving", async (t) => {
    const ingress = await startTestIngress(t, {
      sources: sources(),
      sink: new RecordingSink(),
      headersTimeoutMs: 300,
      requestTimeoutMs: 300,
      timeoutCheckIntervalMs: 100,
    });
    const started = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(ingress.port, "127.0.0.1", () =>
        socket.write("POST /events HTTP/1.1\r\nHost: x\r\nX-Slow: "),
      );
      let received = "";
      socket.on("data", (chunk) => (received += chunk.toString()));
      socket.on("close", () => resolve(received));
      socket.on("error", reject);
      // Keep dribbling a byte at a time, as a slow-loris client does.
      const drip = setInterval(() => socket.writable && socket.write("a"), 50);
      socket.on("close", () => clearInterval(drip));
    });
    assert.ok(Date.now() - started < 3_000, "the connection was closed in time");
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.match(answer, /"code":"request-timeout"/);
    const after = await post(`${ingress.url}/events`, JSON.stringify(event), { "content-type": STRUCTURED });
    assert.equal(after.status, 202);
  });
});
