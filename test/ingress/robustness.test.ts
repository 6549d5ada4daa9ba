import { test } from "node:test";
import assert from "node:assert/strict";
import { Agent, request } from "node:http";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { FakeSources, RecordingSink, startTestIngress } from "./fakes.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const STRUCTURED = "application/cloudevents+json";
const valid = { specversion: "1.0", id: "ok-1", source: "alerts", type: "dev.example.t", data: { n: 1 } };

/** Ten kinds of bad request, each answered without closing the keep-alive connection. */
const malformed: {
  path: string;
  method: string;
  headers: Record<string, string>;
  body: string;
  status: number;
}[] = [
  {
    path: "/events",
    method: "POST",
    headers: { "content-type": STRUCTURED },
    body: '{"specversion":',
    status: 400,
  },
  { path: "/events", method: "POST", headers: { "content-type": STRUCTURED }, body: "[]", status: 400 },
  {
    path: "/events",
    method: "POST",
    headers: { "content-type": STRUCTURED },
    body: JSON.stringify({ ...valid, id: undefined }),
    status: 400,
  },
  {
    path: "/events",
    method: "POST",
    headers: { "content-type": STRUCTURED },
    body: JSON.stringify({ ...valid, specversion: "0.3" }),
    status: 400,
  },
  {
    path: "/events",
    method: "POST",
    headers: { "content-type": STRUCTURED },
    body: JSON.stringify({ ...valid, source: "nope" }),
    status: 404,
  },
  {
    path: "/events",
    method: "POST",
    headers: { "content-type": "application/cloudevents-batch+json" },
    body: "{}",
    status: 400,
  },
  { path: "/events", method: "POST", headers: { "content-type": "text/plain" }, body: "hello", status: 400 },
  {
    path: "/events",
    method: "POST",
    headers: { "ce-id": "1", "content-type": "application/json" },
    body: "{",
    status: 400,
  },
  { path: "/events", method: "GET", headers: {}, body: "", status: 405 },
  { path: "/nowhere/%zz", method: "POST", headers: {}, body: "x", status: 404 },
];

function send(
  agent: Agent,
  port: number,
  r: { path: string; method: string; headers: Record<string, string>; body: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path: r.path, method: r.method, headers: r.headers, agent },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end(r.body);
  });
}

test("after 10,000 malformed requests over keep-alive the server still serves, in bounded memory", async (t) => {
  const sink = new RecordingSink();
  const ingress = await startTestIngress(t, { sources: new FakeSources([{ name: "alerts" }]), sink });
  let connections = 0;
  ingress.server.on("connection", () => connections++);
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  t.after(() => agent.destroy());

  // Warm up, then measure from a settled heap.
  for (let i = 0; i < 200; i++) await send(agent, ingress.port, malformed[i % malformed.length]!);
  gc();
  const heapBefore = process.memoryUsage().heapUsed;

  const total = 10_000;
  let next = 0;
  const wrong: string[] = [];
  const worker = async () => {
    while (next < total) {
      const r = malformed[next++ % malformed.length]!;
      const answer = await send(agent, ingress.port, r);
      const parsed = JSON.parse(answer.body) as { error?: { code?: string; message?: string } };
      if (answer.status !== r.status || !parsed.error?.code || !parsed.error.message) {
        wrong.push(
          `${r.method} ${r.path} ${r.body.slice(0, 30)} → ${answer.status} ${answer.body.slice(0, 100)}`,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} answers were not the expected JSON error`);
  assert.ok(connections <= 16 + 1, `keep-alive connections were reused (${connections} opened)`);

  const ok = await send(agent, ingress.port, {
    path: "/events",
    method: "POST",
    headers: { "content-type": STRUCTURED },
    body: JSON.stringify(valid),
  });
  assert.equal(ok.status, 202);
  assert.deepEqual(
    sink.events.map(({ time: _time, ...rest }) => rest),
    [valid],
  );

  gc();
  const grownMiB = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
  assert.ok(grownMiB < 20, `the heap grew by ${grownMiB.toFixed(1)} MiB`);
});
