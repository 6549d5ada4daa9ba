/**
 * Graceful shutdown of the real `patchbay local` process under load: events keep arriving while it
 * gets SIGTERM. Every event answered 202 reaches the webhook receiver; once shutdown begins, requests
 * are refused (connection refused, or 503), never accepted and lost.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { it } from "node:test";
import { waitFor } from "../support/wait.ts";
import { keepAlive, postEvent } from "./support/http.ts";
import { startCountingReceiver } from "./support/receiver.ts";

const CLI = path.resolve("src/cli/main.ts");

it("SIGTERM under load: every 202 is delivered, later requests are refused, the process exits 0", async (t) => {
  const receiver = await startCountingReceiver({ kind: "slow", delayMs: 1 });
  t.after(() => receiver.close());
  const dir = await mkdtemp(path.join(tmpdir(), "patchbay-shutdown-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(
    path.join(dir, "demo.yaml"),
    `apiVersion: patchbay.dev/v1alpha1
kind: SourcePlugin
metadata: { name: demo }
spec:
  runtime: { process: { command: [node, ${path.resolve("plugins/cloudevents/main.ts")}] } }
`,
  );
  // A rate limit builds a backlog, so the drain has real work to do at SIGTERM.
  await writeFile(
    path.join(dir, "hook.yaml"),
    `apiVersion: patchbay.dev/v1alpha1
kind: Notifier
metadata: { name: hook }
spec:
  type: webhook
  webhook: { url: { value: "${receiver.url}" } }
  delivery: { queueSize: 100000, ratePerSecond: 400, burst: 10, initialBackoffMs: 10, maxBackoffMs: 100 }
`,
  );
  const local = spawn(
    process.execPath,
    [CLI, "local", "--dir", dir, "--port", "0", "--management-port", "0"],
    {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, PATCHBAY_LOG_LEVEL: "info" },
    },
  );
  let stderr = "";
  local.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  local.stdout!.resume();
  t.after(() => {
    if (local.exitCode === null && local.signalCode === null) local.kill("SIGKILL");
  });
  const url = await waitFor(() => /"ingress":"(http:\/\/[^"]+)"/.exec(stderr)?.[1], {
    what: "the ingress URL",
  });
  const agent = keepAlive();
  t.after(() => agent.destroy());
  let n = 0;
  const event = () => ({ specversion: "1.0", id: `load-${++n}`, source: "demo", type: "com.example.load" });
  await waitFor(async () => (await postEvent(url, event(), agent)).status === 202, {
    what: "the demo source",
  });

  const accepted = new Set<string>();
  const refused: Record<string, number> = {};
  let signalled = false;
  let acceptedAfterSignal = 0;
  const refuse = (what: string) => (refused[what] = (refused[what] ?? 0) + 1);
  const poster = async () => {
    // Bounded: stops after the process has gone, or after 20,000 requests.
    for (let i = 0; i < 5_000; i++) {
      const sent = event();
      const wasSignalled = signalled;
      try {
        const answer = await postEvent(url, sent, agent);
        if (answer.status === 202) {
          accepted.add(sent.id);
          if (wasSignalled) acceptedAfterSignal++;
        } else refuse(`HTTP ${answer.status}`);
      } catch (err) {
        refuse((err as NodeJS.ErrnoException).code ?? String(err));
        if (local.exitCode !== null || (err as NodeJS.ErrnoException).code === "ECONNREFUSED") return;
      }
    }
  };
  const posters = Array.from({ length: 4 }, poster);
  await waitFor(() => accepted.size >= 800, { what: "800 accepted events", timeoutMs: 20_000 });
  const backlogAtSignal = accepted.size - receiver.accepted.size;
  signalled = true;
  local.kill("SIGTERM");
  const [code] = (await once(local, "exit")) as [number | null];
  await Promise.all(posters);

  assert.equal(code, 0, stderr.slice(-2_000));
  const lost = [...accepted].filter((id) => !receiver.accepted.has(id));
  assert.deepEqual(
    lost.slice(0, 10),
    [],
    `${lost.length} of ${accepted.size} accepted events were not delivered`,
  );
  assert.deepEqual(receiver.duplicates(), []);
  for (const what of Object.keys(refused))
    assert.ok(/^(ECONNREFUSED|ECONNRESET|HTTP 503)$/.test(what), `a request after SIGTERM ended in ${what}`);
  const drained = stderr
    .split("\n")
    .filter((line) => line.includes('"router drained"'))
    .map((line) => JSON.parse(line) as { delivered: number; droppedAtShutdown: number })[0];
  assert.ok(drained, "the router logged its drain");
  assert.equal(drained.droppedAtShutdown, 0, "nothing was dropped at the drain deadline");
  assert.equal(drained.delivered, accepted.size + 1, "the readiness probe's event and every accepted one");
  t.diagnostic(
    `${accepted.size} events accepted (${acceptedAfterSignal} after SIGTERM was sent), ${backlogAtSignal} queued at SIGTERM, ` +
      `all delivered; refused after shutdown began: ${JSON.stringify(refused)}`,
  );
});
