/**
 * CloudEvents attribute limits (issue 17, finding 2): extension count, name length and value length are
 * bounded in structured, binary and batch modes, refused with a 400 and a JSON error that names the
 * problem, and the server keeps serving afterwards.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import {
  MAX_ATTRIBUTE_NAME_LENGTH,
  MAX_ATTRIBUTE_VALUE_LENGTH,
  MAX_EXTENSION_ATTRIBUTES,
} from "../../src/ingress/cloudevents.ts";
import { FakeSources, json, RecordingSink, startTestIngress } from "./fakes.ts";

const STRUCTURED = "application/cloudevents+json";
const BATCH = "application/cloudevents-batch+json";

const event = { specversion: "1.0", id: "evt-1", source: "alerts", type: "dev.example.alert" };

function extensions(count: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`ext${i}`, "v"]));
}

async function start(t: Parameters<typeof startTestIngress>[0]) {
  const sink = new RecordingSink();
  const ingress = await startTestIngress(t, { sources: new FakeSources([{ name: "alerts" }]), sink });
  return { sink, ingress };
}

async function post(url: string, body: string, headers: Record<string, string>): Promise<Response> {
  return fetch(`${url}/events`, { method: "POST", body, headers });
}

async function expectError(response: Response, code: string, message: RegExp): Promise<string> {
  const body = (await json(response)) as { error: { code: string; message: string } };
  assert.equal(response.status, 400, JSON.stringify(body).slice(0, 500));
  assert.equal(body.error.code, code);
  assert.match(body.error.message, message);
  return body.error.message;
}

/** fetch refuses to send some header sets (and undici caps them); node:http sends exactly what we give. */
function postHeaders(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/events`, { method: "POST", headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

async function stillServing(url: string, sink: RecordingSink): Promise<void> {
  const before = sink.events.length;
  const ok = await post(url, JSON.stringify({ ...event, id: "after" }), { "content-type": STRUCTURED });
  assert.equal(ok.status, 202);
  assert.equal(sink.events.length, before + 1);
}

describe("CloudEvents attribute limits", () => {
  test("structured: the limit of extensions is accepted, one more is refused (60,000 too)", async (t) => {
    const { ingress, sink } = await start(t);
    const atLimit = { ...event, ...extensions(MAX_EXTENSION_ATTRIBUTES) };
    const accepted = await post(ingress.url, JSON.stringify(atLimit), { "content-type": STRUCTURED });
    assert.equal(accepted.status, 202);
    for (const count of [MAX_EXTENSION_ATTRIBUTES + 1, 60_000]) {
      const over = { ...event, ...extensions(count) };
      await expectError(
        await post(ingress.url, JSON.stringify(over), { "content-type": STRUCTURED }),
        "too-many-attributes",
        new RegExp(`at most ${MAX_EXTENSION_ATTRIBUTES} extension attributes; this one has ${count}`),
      );
    }
    assert.equal(sink.events.length, 1);
    await stillServing(ingress.url, sink);
  });

  test("structured: a name at the limit is accepted; a longer one, or one of 1 MB, is refused without echoing it", async (t) => {
    const { ingress, sink } = await start(t);
    const longest = "a".repeat(MAX_ATTRIBUTE_NAME_LENGTH);
    const accepted = await post(ingress.url, JSON.stringify({ ...event, [longest]: "v" }), {
      "content-type": STRUCTURED,
    });
    assert.equal(accepted.status, 202);
    for (const length of [MAX_ATTRIBUTE_NAME_LENGTH + 1, 1_000_000]) {
      const message = await expectError(
        await post(ingress.url, JSON.stringify({ ...event, ["b".repeat(length)]: "v" }), {
          "content-type": STRUCTURED,
        }),
        "attribute-name-too-long",
        new RegExp(`limited to ${MAX_ATTRIBUTE_NAME_LENGTH} characters; .* has ${length}$`),
      );
      assert.ok(message.length < 300, `the message stays short: ${message.length} characters`);
    }
    await stillServing(ingress.url, sink);
  });

  test("structured: attribute values (context or extension) are limited; data is not", async (t) => {
    const { ingress, sink } = await start(t);
    const longest = "v".repeat(MAX_ATTRIBUTE_VALUE_LENGTH);
    const over = longest + "v";
    const ok = await post(
      ingress.url,
      JSON.stringify({ ...event, subject: longest, note: longest, data: over.repeat(10) }),
      { "content-type": STRUCTURED },
    );
    assert.equal(ok.status, 202);
    for (const [name, body] of [
      ["note", { ...event, note: over }],
      ["subject", { ...event, subject: over }],
      ["id", { ...event, id: over }],
    ] as const) {
      await expectError(
        await post(ingress.url, JSON.stringify(body), { "content-type": STRUCTURED }),
        "attribute-value-too-long",
        new RegExp(
          `limited to ${MAX_ATTRIBUTE_VALUE_LENGTH} characters \\(data excepted\\); "${name}" has ${over.length}`,
        ),
      );
    }
    await stillServing(ingress.url, sink);
  });

  test("binary: ce-* headers are held to the same limits", async (t) => {
    const { ingress, sink } = await start(t);
    const required = {
      "ce-specversion": "1.0",
      "ce-id": "bin-1",
      "ce-source": "alerts",
      "ce-type": "dev.example.alert",
      "content-type": "text/plain",
    };
    const headersFor = (count: number) =>
      Object.fromEntries(Array.from({ length: count }, (_, i) => [`ce-ext${i}`, "v"]));
    const atLimit = await postHeaders(ingress.url, { ...required, ...headersFor(MAX_EXTENSION_ATTRIBUTES) });
    assert.equal(atLimit.status, 202, atLimit.body);

    const tooMany = await postHeaders(ingress.url, {
      ...required,
      ...headersFor(MAX_EXTENSION_ATTRIBUTES + 1),
    });
    assert.equal(tooMany.status, 400, tooMany.body);
    assert.deepEqual(JSON.parse(tooMany.body).error, {
      code: "too-many-attributes",
      message: `an event may carry at most ${MAX_EXTENSION_ATTRIBUTES} extension attributes; this one has ${MAX_EXTENSION_ATTRIBUTES + 1}`,
    });

    const longName = await postHeaders(ingress.url, {
      ...required,
      [`ce-${"n".repeat(MAX_ATTRIBUTE_NAME_LENGTH + 1)}`]: "v",
    });
    assert.equal(longName.status, 400, longName.body);
    assert.equal(JSON.parse(longName.body).error.code, "attribute-name-too-long");

    const longValue = await postHeaders(ingress.url, {
      ...required,
      "ce-note": "v".repeat(MAX_ATTRIBUTE_VALUE_LENGTH + 1),
    });
    assert.equal(longValue.status, 400, longValue.body);
    assert.equal(JSON.parse(longValue.body).error.code, "attribute-value-too-long");

    assert.equal(sink.events.length, 1);
    await stillServing(ingress.url, sink);
  });

  test("batch: the event over a limit is named, and nothing of the batch is published", async (t) => {
    const { ingress, sink } = await start(t);
    const batch = [
      { ...event, id: "b0" },
      { ...event, id: "b1", ...extensions(MAX_EXTENSION_ATTRIBUTES + 1) },
    ];
    await expectError(
      await post(ingress.url, JSON.stringify(batch), { "content-type": BATCH }),
      "too-many-attributes",
      /^event 1 of the batch: an event may carry at most/,
    );
    const named = [
      { ...event, id: "b0" },
      { ...event, id: "b1", ["c".repeat(MAX_ATTRIBUTE_NAME_LENGTH + 1)]: 1 },
    ];
    await expectError(
      await post(ingress.url, JSON.stringify(named), { "content-type": BATCH }),
      "attribute-name-too-long",
      /^event 1 of the batch: attribute names are limited/,
    );
    assert.equal(sink.events.length, 0);
    await stillServing(ingress.url, sink);
  });
});
