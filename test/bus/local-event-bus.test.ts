/**
 * `patchbay local --event-bus nats://…` as a user runs it (the real CLI in child processes) against a
 * real nats-server on a free loopback port with a temporary file store: two processes share one dedup
 * window and the deliveries, and a bus that is away means 503, never a 202.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, test } from "node:test";
import { startCountingReceiver, type CountingReceiver } from "../reliability/support/receiver.ts";
import { NatsServer } from "../support/nats-server.ts";
import { waitFor } from "./helpers.ts";

const CLI = path.resolve("src/cli/main.ts");
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const MANY_RETRIES = "{ maxRetries: 1000, initialBackoffMs: 20, maxBackoffMs: 100, timeoutSeconds: 2 }";

/** The demo source and the webhook Notifier "hook" to `receiver`; `more` adds manifests (YAML). */
async function manifests(receiver: CountingReceiver, delivery = MANY_RETRIES, more = ""): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "patchbay-bus-local-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await writeFile(
    path.join(dir, "demo.yaml"),
    `apiVersion: patchbay.dev/v1alpha1
kind: SourcePlugin
metadata: { name: demo }
spec:
  runtime: { process: { command: [node, ${path.resolve("plugins/cloudevents/main.ts")}] } }
`,
  );
  // Short backoffs and many retries: a receiver that is down for a while loses nothing to the dead letters.
  await writeFile(
    path.join(dir, "hook.yaml"),
    `apiVersion: patchbay.dev/v1alpha1
kind: Notifier
metadata: { name: hook }
spec:
  type: webhook
  webhook: { url: { value: "${receiver.url}" } }
  delivery: ${delivery}
`,
  );
  if (more) await writeFile(path.join(dir, "more.yaml"), more);
  return dir;
}

interface Local {
  url: string;
  child: ChildProcess;
  stderr(): string;
  metrics(): Promise<string>;
  stop(signal: NodeJS.Signals): Promise<number | null>;
}

async function startLocal(dir: string, bus: string): Promise<Local> {
  const child = spawn(
    process.execPath,
    [CLI, "local", "--dir", dir, "--port", "0", "--management-port", "0", "--event-bus", bus],
    {
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        PATCHBAY_LOG_LEVEL: "info",
        PATCHBAY_OUTPUT: "json",
        // A bus that is away answers 503 within a second rather than the default 5.
        PATCHBAY_EVENT_BUS_PUBLISH_TIMEOUT_MS: "1000",
      },
    },
  );
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-200_000)));
  child.stdout!.resume();
  const stop = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    const exited = once(child, "exit") as Promise<[number | null]>;
    child.kill(signal);
    const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    const [code] = await exited;
    clearTimeout(killer);
    return code;
  };
  cleanups.push(() => stop("SIGKILL"));
  const url = await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`patchbay local exited ${child.exitCode}: ${stderr}`);
      return /"ingress":"(http:\/\/[^"]+)"/.exec(stderr)?.[1];
    },
    { what: "the ingress URL", timeoutMs: 20_000 },
  );
  const management = /"management":"(http:\/\/[^"]+)"/.exec(stderr)?.[1];
  return {
    url,
    child,
    stderr: () => stderr,
    metrics: async () => (management ? (await fetch(`${management}/metrics`)).text() : ""),
    stop,
  };
}

function post(url: string, id: string): Promise<Response> {
  return fetch(`${url}/events`, {
    method: "POST",
    headers: { "content-type": "application/cloudevents+json" },
    body: JSON.stringify({ specversion: "1.0", id, source: "demo", type: "com.example.bus" }),
  });
}

/** Posts until the source plugin is up (its first answer is 503 unknown/not-ready). */
async function ready(local: Local, id: string): Promise<void> {
  await waitFor(async () => (await post(local.url, id)).status === 202, {
    what: "the demo source",
    timeoutMs: 20_000,
  });
}

/** Runs the patchbay CLI to completion (bounded); its exit code and output. */
async function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const [code] = (await once(child, "exit")) as [number | null];
  clearTimeout(killer);
  return { code, stdout, stderr };
}

function counter(metrics: string, name: string, notifier = "hook"): number {
  const line = metrics.split("\n").find((row) => row.startsWith(`${name}{notifier="${notifier}"}`));
  return line ? Number(line.split(" ").pop()) : 0;
}

describe("patchbay local --event-bus", () => {
  test("two processes on one bus: the same id posted to both is delivered once; deliveries are shared", async (t) => {
    const nats = await NatsServer.start();
    cleanups.push(() => nats.dispose());
    const receiver = await startCountingReceiver({ kind: "slow", delayMs: 5 });
    cleanups.push(() => receiver.close());
    const dir = await manifests(receiver);
    const [a, b] = await Promise.all([startLocal(dir, nats.url), startLocal(dir, nats.url)]);
    await ready(a!, "probe-a");
    await ready(b!, "probe-b");
    const ids = Array.from({ length: 100 }, (_, i) => `both-${i}`);
    for (const id of ids) {
      assert.equal((await post(a!.url, id)).status, 202);
      assert.equal((await post(b!.url, id)).status, 202);
    }
    await waitFor(() => ids.every((id) => receiver.accepted.has(id)), {
      what: "100 deliveries",
      timeoutMs: 30_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(receiver.duplicates(), []);
    const byA = counter(await a!.metrics(), "patchbay_bus_acked_total");
    const byB = counter(await b!.metrics(), "patchbay_bus_acked_total");
    // 100 events and the two probes, each delivered by exactly one of the processes.
    assert.equal(byA + byB, 102);
    assert.ok(byA > 0 && byB > 0, `deliveries shared: ${byA} by one process, ${byB} by the other`);
    t.diagnostic(`200 posts of 100 ids to two processes: 100 deliveries, ${byA} + ${byB} by process`);
  });

  test("nats-server stopped: the ingress answers 503 with Retry-After, never 202; restarted: nothing lost", async (t) => {
    const nats = await NatsServer.start();
    cleanups.push(() => nats.dispose());
    const receiver = await startCountingReceiver({ kind: "accept" });
    cleanups.push(() => receiver.close());
    const dir = await manifests(receiver);
    const local = await startLocal(dir, nats.url);
    await ready(local, "probe");
    const accepted: string[] = [];
    for (let i = 0; i < 20; i++) {
      assert.equal((await post(local.url, `up-${i}`)).status, 202);
      accepted.push(`up-${i}`);
    }
    // Delivered and acknowledged to the bus before it goes: an ack the server never gets means one
    // more delivery later (at least once), which is not what this test is about.
    await waitFor(
      async () =>
        accepted.every((id) => receiver.accepted.has(id)) &&
        /patchbay_bus_ack_pending\{notifier="hook"\} 0\b/.test(await local.metrics()),
      { what: "the first 20 delivered and acked", timeoutMs: 20_000 },
    );
    await nats.stop();
    const refused: number[] = [];
    for (let i = 0; i < 5; i++) {
      const answer = await post(local.url, `down-${i}`);
      assert.notEqual(answer.status, 202, "a 202 while the bus is down");
      assert.equal(answer.status, 503);
      assert.ok(Number(answer.headers.get("retry-after")) > 0);
      assert.equal(
        ((await answer.json()) as { error: { code: string } }).error.code,
        "event-bus-unavailable",
      );
      refused.push(answer.status);
    }
    await nats.restart();
    // The producer retries what was refused: now stored, and delivered.
    for (let i = 0; i < 5; i++) {
      await waitFor(async () => (await post(local.url, `down-${i}`)).status === 202, {
        what: "the bus back",
        timeoutMs: 20_000,
      });
      accepted.push(`down-${i}`);
    }
    await waitFor(() => accepted.every((id) => receiver.accepted.has(id)), {
      what: "every 202 delivered",
      timeoutMs: 20_000,
    });
    assert.deepEqual(receiver.duplicates(), []);
    t.diagnostic(
      `${refused.length} posts while the bus was down: all 503; ${accepted.length} accepted, all delivered once`,
    );
  });

  // The receiver refuses (503) through the kill, so no attempt of the killed process can have succeeded:
  // at least once is then exactly once, and that is what is asserted.
  test("nats-server stopped: a source stream pauses; restarted: it resumes with every beat, none twice", async (t) => {
    const nats = await NatsServer.start();
    cleanups.push(() => nats.dispose());
    const receiver = await startCountingReceiver({ kind: "accept" });
    cleanups.push(() => receiver.close());
    // 20 beats a second; ids are tick numbers, so a gap or a repeat shows in the sequence.
    const dir = await manifests(
      receiver,
      MANY_RETRIES,
      `apiVersion: patchbay.dev/v1alpha1
kind: SourcePlugin
metadata: { name: beats }
spec:
  runtime: { process: { command: [node, ${path.resolve("plugins/heartbeat/main.ts")}] } }
  config: { intervalSeconds: 0.05, maxReplay: 1000 }
`,
    );
    await startLocal(dir, nats.url);
    const ticks = () =>
      [...receiver.accepted.keys()]
        .filter((id) => id.startsWith("beat-"))
        .map((id) => Number(id.slice("beat-".length)))
        .sort((a, b) => a - b);
    await waitFor(() => ticks().length >= 20, { what: "20 beats delivered", timeoutMs: 20_000 });

    await nats.stop();
    const beforeOutage = ticks().at(-1)!;
    // About 40 beats fall due while the bus is away: none can be stored, so none may be acknowledged.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const duringOutage = ticks().at(-1)!;
    await nats.restart();
    await waitFor(() => ticks().at(-1)! >= duringOutage + 60, {
      what: "beats well past the outage",
      timeoutMs: 30_000,
    });

    const seen = ticks();
    const gaps = seen.slice(1).filter((tick, i) => tick !== seen[i]! + 1);
    assert.deepEqual(gaps, [], `a contiguous run of ticks from ${seen[0]} to ${seen.at(-1)}`);
    assert.deepEqual(receiver.duplicates(), []);
    assert.ok(duringOutage - beforeOutage <= 2, "the stream paused: at most what was in flight arrived");
    t.diagnostic(
      `${seen.length} beats from tick ${seen[0]} to ${seen.at(-1)}, contiguous, none twice; ${duringOutage - beforeOutage} arrived while the bus was down`,
    );
  });

  test("SIGKILL with the receiver down: every 202 is delivered after the restart, exactly once; re-posting delivers nothing", async (t) => {
    const nats = await NatsServer.start();
    cleanups.push(() => nats.dispose());
    const receiver = await startCountingReceiver({ kind: "fail", status: 503 });
    cleanups.push(() => receiver.close());
    const dir = await manifests(receiver);
    const first = await startLocal(dir, nats.url);
    await ready(first, "probe");
    const accepted: string[] = ["probe"];
    for (let i = 0; i < 300; i++) {
      const id = `e${i}`;
      const answer = await post(first.url, id);
      assert.equal(answer.status, 202, await answer.text());
      accepted.push(id);
    }
    assert.equal(receiver.accepted.size, 0, "the receiver is down: nothing delivered yet");
    // Attempts were under way (refused) when the process is killed: the head event is mid-retry.
    await waitFor(() => receiver.attempts.length >= 3, { what: "refused attempts", timeoutMs: 10_000 });
    const refusedBeforeKill = receiver.attempts.length;
    await first.stop("SIGKILL");
    receiver.behave({ kind: "accept" });

    const second = await startLocal(dir, nats.url);
    await waitFor(() => accepted.every((id) => receiver.accepted.has(id)), {
      what: "all 301 accepted events delivered after the restart",
      timeoutMs: 30_000,
    });
    // A repeat would come right after the first delivery (see SETTLED_MEMORY in jetstream-bus.ts).
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.deepEqual(receiver.duplicates(), []);
    const repeatsAckedAgain = counter(await second.metrics(), "patchbay_bus_already_settled_total");
    const attemptsBefore = receiver.attempts.length;
    for (const id of accepted.slice(0, 20)) assert.equal((await post(second.url, id)).status, 202);
    // The duplicates are stored nowhere, so there is nothing to deliver: give it time to show.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.equal(receiver.attempts.length, attemptsBefore, "re-posted ids were delivered again");
    assert.equal(await second.stop("SIGTERM"), 0, second.stderr().slice(-2_000));
    const once = accepted.filter((id) => receiver.accepted.get(id) === 1).length;
    t.diagnostic(
      `${accepted.length} answered 202 (${refusedBeforeKill} attempts refused before the SIGKILL); after the restart ` +
        `${once} delivered exactly once, ${receiver.duplicates().length} more than once ` +
        `(${repeatsAckedAgain} repeats from the bus acked again, not delivered); 20 re-posted: 0 deliveries`,
    );
  });

  test("a 429's Retry-After is honoured: the next attempt comes no sooner, though the backoff is 20 ms", async (t) => {
    const nats = await NatsServer.start();
    cleanups.push(() => nats.dispose());
    const receiver = await startCountingReceiver({ kind: "accept" });
    cleanups.push(() => receiver.close());
    const local = await startLocal(await manifests(receiver), nats.url);
    await ready(local, "probe");
    await waitFor(() => receiver.accepted.has("probe"), { what: "the probe delivered" });
    receiver.behave({ kind: "throttle", retryAfterSeconds: 2 });
    assert.equal((await post(local.url, "throttled")).status, 202);
    await waitFor(() => receiver.attempts.some((attempt) => attempt.id === "throttled"), {
      what: "the first attempt",
    });
    receiver.behave({ kind: "accept" });
    await waitFor(() => receiver.accepted.has("throttled"), { what: "the retry", timeoutMs: 10_000 });
    const [first, second] = receiver.attempts.filter((attempt) => attempt.id === "throttled");
    assert.equal(first!.answered, 429);
    assert.ok(second!.at - first!.at >= 2_000, `retried ${second!.at - first!.at} ms after the 429`);
    t.diagnostic(`429 with Retry-After: 2 → retried after ${second!.at - first!.at} ms (backoff 20–100 ms)`);
  });

  test("dead letters after maxRetries; `patchbay dead-letters list|replay` shows them and hands them back to that notifier only", async (t) => {
    const nats = await NatsServer.start();
    cleanups.push(() => nats.dispose());
    const receiver = await startCountingReceiver({ kind: "fail", status: 503 });
    cleanups.push(() => receiver.close());
    const otherReceiver = await startCountingReceiver({ kind: "accept" });
    cleanups.push(() => otherReceiver.close());
    const dir = await manifests(
      receiver,
      "{ maxRetries: 2, initialBackoffMs: 20, maxBackoffMs: 50, timeoutSeconds: 2 }",
      `apiVersion: patchbay.dev/v1alpha1
kind: Notifier
metadata: { name: other }
spec:
  type: webhook
  webhook: { url: { value: "${otherReceiver.url}" } }
`,
    );
    const local = await startLocal(dir, nats.url);
    await ready(local, "probe");
    const ids = ["probe", "dead-0", "dead-1", "dead-2"];
    for (const id of ids.slice(1)) assert.equal((await post(local.url, id)).status, 202);
    await waitFor(
      async () => counter(await local.metrics(), "patchbay_bus_dead_lettered_total") === ids.length,
      { what: "four dead letters", timeoutMs: 20_000 },
    );
    for (const id of ids) {
      // maxRetries 2: the first attempt and two retries, then the dead letters.
      assert.equal(receiver.attempts.filter((attempt) => attempt.id === id).length, 3, id);
    }
    assert.equal(receiver.accepted.size, 0);

    const listed = await cli([
      "dead-letters",
      "list",
      "--event-bus",
      nats.url,
      "--notifier",
      "hook",
      "--output",
      "json",
    ]);
    assert.equal(listed.code, 0, listed.stderr);
    const letters = listed.stdout
      .trim()
      .split("\n")
      .map(
        (line) =>
          JSON.parse(line) as { notifier: string; attempts: number; reason: string; event: { id: string } },
      );
    assert.deepEqual(
      letters.map((letter) => letter.event.id),
      ids,
    );
    for (const letter of letters) {
      assert.equal(letter.notifier, "hook");
      assert.equal(letter.attempts, 3);
      assert.match(letter.reason, /gave up after 3 attempts/);
    }
    const text = await cli(["dead-letters", "list", "--event-bus", nats.url]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /hook {2}attempts=3 {2}demo\/dead-1 {2}gave up after 3 attempts/);
    const none = await cli(["dead-letters", "list", "--event-bus", nats.url, "--notifier", "other"]);
    assert.equal(none.stdout.trim(), "No dead letters.");

    receiver.behave({ kind: "accept" });
    const replay = await cli(["dead-letters", "replay", "--event-bus", nats.url, "--notifier", "hook"]);
    assert.equal(replay.code, 0, replay.stderr);
    assert.match(replay.stdout, /^4 dead letters replayed\.$/m);
    await waitFor(() => ids.every((id) => receiver.accepted.has(id)), { what: "the replays delivered" });
    // Replayed again, or delivered to "other" again, would show within moments.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.deepEqual(receiver.duplicates(), []);
    assert.deepEqual(
      ids.map((id) => otherReceiver.accepted.get(id)),
      [1, 1, 1, 1],
      "the other notifier got each event once, and no replay",
    );
    const after = await cli(["dead-letters", "list", "--event-bus", nats.url]);
    assert.equal(after.stdout.trim(), "No dead letters.");
    const again = await cli(["dead-letters", "replay", "--event-bus", nats.url]);
    assert.match(again.stdout, /^0 dead letters replayed\.$/m);
    const usage = await cli(["dead-letters", "list"]);
    assert.equal(usage.code, 2);
    t.diagnostic(
      `4 events × 3 attempts → 4 dead letters listed; replayed to hook: 4 delivered once; other: 1 each`,
    );
  });

  test("SIGTERM mid-backlog loses nothing: what was not delivered is delivered by the next process, once", async (t) => {
    const nats = await NatsServer.start();
    cleanups.push(() => nats.dispose());
    const receiver = await startCountingReceiver({ kind: "slow", delayMs: 20 });
    cleanups.push(() => receiver.close());
    const dir = await manifests(receiver);
    const first = await startLocal(dir, nats.url);
    await ready(first, "probe");
    const accepted = ["probe"];
    for (let i = 0; i < 200; i++) {
      assert.equal((await post(first.url, `backlog-${i}`)).status, 202);
      accepted.push(`backlog-${i}`);
    }
    assert.ok(receiver.accepted.size < accepted.length, "a backlog remains at the SIGTERM");
    const deliveredBefore = receiver.accepted.size;
    assert.equal(await first.stop("SIGTERM"), 0, first.stderr().slice(-2_000));
    const deliveredByFirst = receiver.accepted.size;

    const second = await startLocal(dir, nats.url);
    await waitFor(() => accepted.every((id) => receiver.accepted.has(id)), {
      what: "the backlog delivered by the next process",
      timeoutMs: 30_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.deepEqual(receiver.duplicates(), []);
    assert.equal(await second.stop("SIGTERM"), 0);
    t.diagnostic(
      `${accepted.length} answered 202; ${deliveredBefore} delivered when SIGTERM came, ${deliveredByFirst} by the ` +
        `first process in all, ${accepted.length - deliveredByFirst} by the next; each exactly once`,
    );
  });

  test("/metrics accounting: stored = acked + skipped + dead-lettered + pending + ack-pending, quiet or mid-delivery", async (t) => {
    const nats = await NatsServer.start();
    cleanups.push(() => nats.dispose());
    const receiver = await startCountingReceiver({ kind: "accept" });
    cleanups.push(() => receiver.close());
    const dir = await manifests(
      receiver,
      "{ maxRetries: 2, initialBackoffMs: 20, maxBackoffMs: 50, timeoutSeconds: 1 }\n  filter: { types: [com.example.bus] }",
    );
    const local = await startLocal(dir, nats.url);
    await ready(local, "probe");
    const sum = (metrics: string, name: string, labels = "") =>
      metrics
        .split("\n")
        .filter((row) => row.startsWith(`${name}{`) && row.includes(labels))
        .reduce((total, row) => total + Number(row.split(" ").at(-1)), 0);
    const accounting = async () => {
      const metrics = await local.metrics();
      const parts = {
        stored: sum(metrics, "patchbay_bus_publish_duration_seconds_count", 'result="stored"'),
        acked: counter(metrics, "patchbay_bus_acked_total"),
        skipped: counter(metrics, "patchbay_bus_skipped_total"),
        deadLettered: counter(metrics, "patchbay_bus_dead_lettered_total"),
        pending: counter(metrics, "patchbay_bus_pending"),
        ackPending: counter(metrics, "patchbay_bus_ack_pending"),
      };
      const settled = parts.acked + parts.skipped + parts.deadLettered + parts.pending + parts.ackPending;
      return { ...parts, settled };
    };
    const postTyped = (id: string, type: string) =>
      fetch(`${local.url}/events`, {
        method: "POST",
        headers: { "content-type": "application/cloudevents+json" },
        body: JSON.stringify({ specversion: "1.0", id, source: "demo", type }),
      });
    const samples: string[] = [];
    const check = async (phase: string, until: (a: Awaited<ReturnType<typeof accounting>>) => boolean) => {
      const sample = await waitFor(
        async () => {
          const a = await accounting();
          return until(a) && a;
        },
        { what: phase, timeoutMs: 20_000 },
      );
      assert.equal(sample.stored, sample.settled, `${phase}: ${JSON.stringify(sample)}`);
      samples.push(`${phase}: ${JSON.stringify(sample)}`);
    };

    // Delivered, and not selected (another type): all settled.
    for (let i = 0; i < 30; i++) assert.equal((await postTyped(`ok-${i}`, "com.example.bus")).status, 202);
    for (let i = 0; i < 10; i++) assert.equal((await postTyped(`other-${i}`, "dev.other")).status, 202);
    await check("delivered and skipped", (a) => a.stored === 41 && a.pending === 0 && a.ackPending === 0);
    assert.equal((await accounting()).skipped, 10);

    // A receiver that hangs: one event in flight, the rest pending, held still for the attempt's timeout.
    receiver.behave({ kind: "hang" });
    for (let i = 0; i < 5; i++) assert.equal((await postTyped(`held-${i}`, "com.example.bus")).status, 202);
    await check("mid-delivery", (a) => a.stored === 46 && a.ackPending === 1 && a.pending === 4);

    // Failing after the retries: dead letters.
    receiver.behave({ kind: "fail", status: 503 });
    await check("dead-lettered", (a) => a.pending === 0 && a.ackPending === 0 && a.deadLettered === 5);
    t.diagnostic(samples.join("; "));
  });
});
