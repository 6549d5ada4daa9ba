import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, test } from "node:test";
import { deliveryDefaults, validateNotifierSpec, type NotifierSpec } from "../../src/api/v1alpha1/index.ts";
import { createNotifierSink, NotifierConfigError } from "../../src/notifiers/index.ts";
import { LocalSecretResolver } from "../../src/secrets/index.ts";
import { startReceiver, type Receiver } from "./receiver.ts";

let dir: string;
let receiver: Receiver;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "patchbay-secrets-"));
  receiver = await startReceiver();
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
  await receiver.close();
});

describe("validateNotifierSpec", () => {
  test("accepts a complete valid spec", () => {
    const spec: NotifierSpec = {
      type: "webhook",
      webhook: {
        url: { env: "HOOK" },
        mode: "cloudevents-binary",
        headers: { Authorization: { file: "/t" } },
      },
      sources: {
        names: ["prometheus"],
        selector: { matchExpressions: [{ key: "team", operator: "In", values: ["a"] }] },
      },
      filter: {
        types: ["dev.patchbay.*"],
        minSeverity: "warning",
        subject: "^pod/",
        data: [{ path: "labels.ns", pattern: "prod" }],
      },
      delivery: {
        queueSize: 10,
        maxRetries: 3,
        initialBackoffMs: 10,
        maxBackoffMs: 100,
        ratePerSecond: 0,
        burst: 1,
        timeoutSeconds: 2,
      },
      commands: { executors: ["kubectl"], slack: { signingSecret: { env: "SIGNING" } } },
    };
    assert.deepEqual(validateNotifierSpec(spec), []);
    assert.deepEqual(validateNotifierSpec({ type: "log" }), []);
  });

  const cases: [string, unknown, RegExp][] = [
    ["not an object", "slack", /^spec: must be an object$/],
    ["unknown type", { type: "pager" }, /spec\.type: must be one of slack, .* \(got "pager"\)/],
    ["missing type block", { type: "slack" }, /^spec: type slack needs the slack block$/],
    [
      "other type's block",
      { type: "log", slack: { webhookUrl: { env: "X" } } },
      /^spec: the slack block is set but type is not slack/,
    ],
    [
      "two origins",
      { type: "slack", slack: { webhookUrl: { env: "X", file: "/f" } } },
      /^spec\.slack\.webhookUrl: set exactly one of value, secretKeyRef, env, file$/,
    ],
    [
      "inline non-URL",
      { type: "teams", teams: { webhookUrl: { value: "nope" } } },
      /^spec\.teams\.webhookUrl: value must be an http or https URL$/,
    ],
    [
      "bad secretKeyRef",
      { type: "discord", discord: { webhookUrl: { secretKeyRef: { name: "s" } } } },
      /^spec\.discord\.webhookUrl\.secretKeyRef\.key: required$/,
    ],
    [
      "bad mode",
      { type: "webhook", webhook: { url: { env: "U" }, mode: "xml" } },
      /^spec\.webhook\.mode: must be one of json, cloudevents-structured, cloudevents-binary \(got "xml"\)$/,
    ],
    [
      "bad header name",
      { type: "webhook", webhook: { url: { env: "U" }, headers: { "a b": { value: "x" } } } },
      /^spec\.webhook\.headers: a header name is an HTTP token/,
    ],
    [
      "empty sources",
      { type: "log", sources: {} },
      /^spec\.sources: set names and\/or selector; omit sources entirely/,
    ],
    [
      "bad operator",
      { type: "log", sources: { selector: { matchExpressions: [{ key: "a", operator: "Is" }] } } },
      /^spec\.sources\.selector\.matchExpressions\[0\]\.operator: must be one of In, NotIn, Exists, DoesNotExist \(got "Is"\)$/,
    ],
    [
      "In without values",
      { type: "log", sources: { selector: { matchExpressions: [{ key: "a", operator: "In" }] } } },
      /^spec\.sources\.selector\.matchExpressions\[0\]: In and NotIn need a non-empty list of values/,
    ],
    [
      "bad regex",
      { type: "log", filter: { subject: "(" } },
      /spec\.filter\.subject: not a valid regular expression/,
    ],
    [
      "bad data path",
      { type: "log", filter: { data: [{ path: "a..b", pattern: "x" }] } },
      /^spec\.filter\.data\[0\]\.path: must match pattern .* \(got "a\.\.b"\)$/,
    ],
    [
      "bad severity",
      { type: "log", filter: { minSeverity: "loud" } },
      /^spec\.filter\.minSeverity: must be one of debug, info, warning, error, critical \(got "loud"\)$/,
    ],
    [
      "queue size 0",
      { type: "log", delivery: { queueSize: 0 } },
      /^spec\.delivery\.queueSize: must be >= 1 \(got 0\)$/,
    ],
    [
      "fractional retries",
      { type: "log", delivery: { maxRetries: 1.5 } },
      /^spec\.delivery\.maxRetries: must be an integer$/,
    ],
    [
      "unknown delivery field",
      { type: "log", delivery: { retries: 3 } },
      /^spec\.delivery\.retries: unknown field$/,
    ],
    [
      "backoff order",
      { type: "log", delivery: { initialBackoffMs: 500, maxBackoffMs: 100 } },
      /^spec\.delivery: initialBackoffMs must not exceed maxBackoffMs$/,
    ],
    [
      "commands token",
      { type: "mattermost", mattermost: { webhookUrl: { env: "U" } }, commands: { mattermost: {} } },
      /^spec\.commands\.mattermost\.token: required$/,
    ],
  ];
  for (const [name, spec, expected] of cases) {
    test(`rejects ${name} with a message naming the field`, () => {
      const problems = validateNotifierSpec(spec);
      assert.ok(
        problems.some((p) => expected.test(p)),
        `expected ${expected} in ${JSON.stringify(problems)}`,
      );
    });
  }

  test("delivery defaults depend on the platform and yield to explicit settings", () => {
    assert.equal(deliveryDefaults("slack").ratePerSecond, 1);
    assert.equal(deliveryDefaults("log").ratePerSecond, 0);
    assert.deepEqual(deliveryDefaults("webhook", { queueSize: 5 }).queueSize, 5);
    assert.equal(deliveryDefaults("unknown").queueSize, 1000);
  });
});

describe("LocalSecretResolver", () => {
  const resolver = new LocalSecretResolver({ env: { HOOK: "http://env.example/x", EMPTY: "" } });

  test("resolves inline values, environment variables and files (trailing newline dropped)", async () => {
    assert.equal(await resolver.resolve({ value: "v" }), "v");
    assert.equal(await resolver.resolve({ env: "HOOK" }), "http://env.example/x");
    const file = join(dir, "hook");
    await writeFile(file, "http://file.example/y\n");
    assert.equal(await resolver.resolve({ file }), "http://file.example/y");
  });

  test("each unresolvable source gets an error that says why", async () => {
    await assert.rejects(
      resolver.resolve({ env: "MISSING" }),
      /environment variable MISSING is not set or empty/,
    );
    await assert.rejects(
      resolver.resolve({ env: "EMPTY" }),
      /environment variable EMPTY is not set or empty/,
    );
    await assert.rejects(
      resolver.resolve({ file: join(dir, "absent") }),
      /cannot read file .*absent: ENOENT/,
    );
    const empty = join(dir, "empty");
    await writeFile(empty, "\n");
    await assert.rejects(resolver.resolve({ file: empty }), /is empty/);
    await assert.rejects(
      resolver.resolve({ secretKeyRef: { name: "hooks", key: "slack" } }),
      /secretKeyRef hooks\/slack: secretKeyRef needs the operator; in local runs use env or file/,
    );
    await assert.rejects(resolver.resolve({}), /exactly one of value, secretKeyRef, env, file \(got none\)/);
  });
});

describe("createNotifierSink", () => {
  test("resolves the URL from the environment and delivers to it", async () => {
    const secrets = new LocalSecretResolver({ env: { HOOK: receiver.url } });
    const sink = await createNotifierSink(
      { type: "slack", slack: { webhookUrl: { env: "HOOK" } } },
      { secrets },
    );
    assert.equal(sink.type, "slack");
    const outcome = await sink.deliver(
      { specversion: "1.0", id: "1", source: "s", type: "t", time: "" },
      AbortSignal.timeout(5000),
    );
    assert.equal(outcome.kind, "delivered");
    assert.ok(JSON.parse(receiver.requests.at(-1)!.body).attachments);
  });

  test("resolves webhook headers and the log stream", async () => {
    const secrets = new LocalSecretResolver({ env: { HOOK: receiver.url, TOKEN: "Bearer abc" } });
    const sink = await createNotifierSink(
      { type: "webhook", webhook: { url: { env: "HOOK" }, headers: { Authorization: { env: "TOKEN" } } } },
      { secrets },
    );
    await sink.deliver(
      { specversion: "1.0", id: "2", source: "s", type: "t", time: "" },
      AbortSignal.timeout(5000),
    );
    assert.equal(receiver.requests.at(-1)!.headers.authorization, "Bearer abc");
    const stream = new PassThrough();
    const log = await createNotifierSink({ type: "log" }, { secrets, logStream: stream });
    await log.deliver(
      { specversion: "1.0", id: "3", source: "s", type: "t", time: "" },
      AbortSignal.timeout(5000),
    );
    assert.equal(JSON.parse(stream.read().toString()).id, "3");
  });

  test("an invalid spec, a missing secret or a non-URL value is a NotifierConfigError naming the field", async () => {
    const secrets = new LocalSecretResolver({ env: { NOT_URL: "s3cr3t-not-a-url", FTP: "ftp://x/y" } });
    await assert.rejects(
      createNotifierSink({ type: "teams" } as NotifierSpec, { secrets }),
      (error: Error) => {
        assert.ok(error instanceof NotifierConfigError);
        assert.match(error.message, /spec: type teams needs the teams block/);
        return true;
      },
    );
    await assert.rejects(
      createNotifierSink({ type: "discord", discord: { webhookUrl: { env: "ABSENT" } } }, { secrets }),
      /spec\.discord\.webhookUrl: environment variable ABSENT is not set or empty/,
    );
    await assert.rejects(
      createNotifierSink({ type: "mattermost", mattermost: { webhookUrl: { env: "NOT_URL" } } }, { secrets }),
      (error: Error) => {
        assert.match(error.message, /spec\.mattermost\.webhookUrl: the resolved value is not a URL/);
        assert.ok(!error.message.includes("s3cr3t"), "the secret value is never echoed");
        return true;
      },
    );
    await assert.rejects(
      createNotifierSink({ type: "webhook", webhook: { url: { env: "FTP" } } }, { secrets }),
      /spec\.webhook\.url: the resolved URL must be http or https \(got ftp:\)/,
    );
  });
});
