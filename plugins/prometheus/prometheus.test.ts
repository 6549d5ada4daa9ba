/** The prometheus source as a real process, fed a real Alertmanager v4 payload over gRPC. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import {
  Severity,
  type DescribeResponse,
  type ExternalRequest,
  type ExternalResponse,
  type SourceClient,
} from "@patchbay/sdk/protocol";
import { dataOf, sourceClient, startPlugin, unary, type StartedPlugin } from "../testing/index.ts";

const fixture = readFileSync(new URL("./testdata/alertmanager-v4.json", import.meta.url));

describe("prometheus source", () => {
  let plugin: StartedPlugin;
  let client: SourceClient;
  before(async () => {
    plugin = await startPlugin("plugins/prometheus/main.ts");
    client = sourceClient(plugin.address);
  });
  after(async () => {
    client.close();
    await plugin.stop("SIGKILL");
  });

  function post(body: Buffer | string, overrides: Partial<ExternalRequest> = {}): Promise<ExternalResponse> {
    return unary<ExternalResponse>((m, o, cb) =>
      client.handleExternalRequest(
        {
          sourceName: "alerts",
          configJson: "",
          method: "POST",
          path: "/",
          headers: { "content-type": "application/json" },
          body: Buffer.from(body),
          ...overrides,
        },
        m,
        o,
        cb,
      ),
    );
  }

  const bodyOf = (response: ExternalResponse) => JSON.parse(Buffer.from(response.body).toString());

  it("declares external requests and a config schema in Describe", async () => {
    const described = await unary<DescribeResponse>((m, o, cb) => client.describe({}, m, o, cb));
    assert.equal(described.name, "prometheus");
    assert.equal(described.capabilities?.externalRequests, true);
    assert.ok(JSON.parse(described.configSchemaJson).properties.matchers);
  });

  it("turns each alert of a v4 payload into one event with status, severity, labels and links", async () => {
    const response = await post(fixture);
    assert.equal(response.status, 202);
    assert.deepEqual(bodyOf(response), { received: 3, accepted: 3 });
    assert.deepEqual(
      response.events.map((e) => [e.type, e.subject, e.severity]),
      [
        ["dev.patchbay.prometheus.alert.firing", "KubePodCrashLooping", Severity.SEVERITY_WARNING],
        ["dev.patchbay.prometheus.alert.firing", "KubeNodeNotReady", Severity.SEVERITY_CRITICAL],
        ["dev.patchbay.prometheus.alert.resolved", "CPUThrottlingHigh", Severity.SEVERITY_INFO],
      ],
    );
    const crash = dataOf(response.events[0]!);
    assert.equal(crash.status, "firing");
    assert.equal(crash.summary, "Pod is crash looping.");
    assert.deepEqual(crash.labels, JSON.parse(fixture.toString()).alerts[0].labels);
    assert.match(String(crash.generatorURL), /^http:\/\/prometheus-k8s-0:9090\/graph\?/);
    assert.equal(crash.fingerprint, "5b1b0c0e4f1c2a7d");
    assert.equal(crash.receiver, "patchbay");
    assert.equal(response.events[0]!.time?.toISOString(), "2026-11-25T04:58:21.123Z");
    // A resolved alert is timed at its end and keeps its original severity in the data.
    assert.equal(response.events[2]!.time?.toISOString(), "2026-11-25T05:02:30.000Z");
    assert.equal(dataOf(response.events[2]!).severity, "info");
  });

  it("gives a re-sent alert the same id, and the same alert resolved a different one", async () => {
    const first = await post(fixture);
    const again = await post(fixture);
    assert.deepEqual(
      first.events.map((e) => e.id),
      again.events.map((e) => e.id),
    );
    assert.equal(new Set(first.events.map((e) => e.id)).size, 3);
    const payload = JSON.parse(fixture.toString());
    payload.alerts[0].status = "resolved";
    payload.alerts[0].endsAt = "2026-11-25T05:10:00Z";
    const resolved = await post(JSON.stringify(payload));
    assert.notEqual(resolved.events[0]!.id, first.events[0]!.id);
    assert.equal(resolved.events[0]!.type, "dev.patchbay.prometheus.alert.resolved");
  });

  it("derives a stable id from the labels when Alertmanager sends no fingerprint", async () => {
    const payload = JSON.parse(fixture.toString());
    for (const alert of payload.alerts) delete alert.fingerprint;
    const [a, b] = await Promise.all([post(JSON.stringify(payload)), post(JSON.stringify(payload))]);
    assert.deepEqual(
      a.events.map((e) => e.id),
      b.events.map((e) => e.id),
    );
    assert.equal(new Set(a.events.map((e) => e.id)).size, 3);
  });

  it("filters on state and label matchers, answering 200 when nothing is left", async () => {
    const firingCritical = JSON.stringify({
      states: ["firing"],
      matchers: [
        { label: "severity", op: "=~", value: "critical|error" },
        { label: "alertname", op: "!=", value: "Watchdog" },
      ],
    });
    const response = await post(fixture, { configJson: firingCritical });
    assert.deepEqual(
      response.events.map((e) => e.subject),
      ["KubeNodeNotReady"],
    );
    const resolvedOnly = await post(fixture, {
      configJson: JSON.stringify({
        states: ["resolved"],
        matchers: [{ label: "namespace", op: "!~", value: "bat.*" }],
      }),
    });
    assert.equal(resolvedOnly.status, 200);
    assert.equal(resolvedOnly.events.length, 0);
    assert.deepEqual(bodyOf(resolvedOnly), { received: 3, accepted: 0 });
  });

  it("maps severities through the config and falls back to the default", async () => {
    const payload = JSON.parse(fixture.toString());
    payload.alerts[0].labels.severity = "P1";
    delete payload.alerts[1].labels.severity;
    const response = await post(JSON.stringify(payload), {
      configJson: JSON.stringify({ severities: { p1: "critical" }, defaultSeverity: "error" }),
    });
    assert.deepEqual(
      response.events.slice(0, 2).map((e) => e.severity),
      [Severity.SEVERITY_CRITICAL, Severity.SEVERITY_ERROR],
    );
  });

  it("answers a malformed payload with 400 naming the problem, and keeps serving", async () => {
    const cases: [string, RegExp][] = [
      ["{not json", /body is not valid JSON/],
      ["[]", /body must be a JSON object/],
      [JSON.stringify({ version: "3", alerts: [] }), /version must be "4"/],
      [JSON.stringify({ version: "4", status: "firing" }), /alerts must be an array/],
      [
        JSON.stringify({
          version: "4",
          status: "firing",
          alerts: [{ status: "burning", startsAt: "2026-01-01T00:00:00Z" }],
        }),
        /alerts\[0\]\.status must be "firing" or "resolved"/,
      ],
      [
        JSON.stringify({
          version: "4",
          status: "firing",
          alerts: [{ status: "firing", startsAt: "yesterday" }],
        }),
        /alerts\[0\]\.startsAt must be an RFC 3339 timestamp/,
      ],
      [
        JSON.stringify({
          version: "4",
          status: "firing",
          alerts: [{ status: "firing", startsAt: "2026-01-01T00:00:00Z", labels: { a: 1 } }],
        }),
        /alerts\[0\]\.labels\.a must be a string/,
      ],
    ];
    for (const [body, problem] of cases) {
      const response = await post(body);
      assert.equal(response.status, 400, body);
      assert.equal(response.events.length, 0);
      assert.equal(bodyOf(response).error.code, "invalid-payload");
      assert.match(bodyOf(response).error.message, problem);
    }
    assert.equal((await post(fixture)).events.length, 3);
  });

  it("answers a wrong method with 405 and a wrong content type with 415", async () => {
    const get = await post("", { method: "GET" });
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, "POST");
    assert.equal(bodyOf(get).error.code, "method-not-allowed");
    assert.match(bodyOf(get).error.message, /method GET not allowed/);
    const form = await post(fixture, { headers: { "content-type": "application/x-www-form-urlencoded" } });
    assert.equal(form.status, 415);
    assert.deepEqual(bodyOf(form).error, {
      code: "unsupported-media-type",
      message: "content-type must be application/json, got application/x-www-form-urlencoded",
    });
  });

  it("rejects a bad config with INVALID_ARGUMENT naming the field", async () => {
    const bad = [
      [{ states: ["pending"] }, /config\.states\.0/],
      [
        { matchers: [{ label: "x", op: "=~", value: "(unclosed" }] },
        /config\.matchers\.0\.value must match format "regex"/,
      ],
      [{ defaultSeverity: "loud" }, /config\.defaultSeverity/],
      [{ nope: true }, /unknown property 'nope'/],
    ] as const;
    for (const [config, problem] of bad) {
      await assert.rejects(
        post(fixture, { configJson: JSON.stringify(config) }),
        (err: grpc.ServiceError) => {
          assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
          assert.match(err.details, problem);
          return true;
        },
      );
    }
  });
});
