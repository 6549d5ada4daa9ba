/**
 * The soak: a whole data plane under mixed load for a while — CloudEvents posted (single, batch and
 * re-sent duplicates), commands, a streaming source — while plugin processes are killed with SIGKILL
 * and the webhook receivers cycle through 500s, silence, 429 + Retry-After and slowness. At the end it
 * prints the figures and exits non-zero if an event was delivered twice, the accounting identity ever
 * broke, /metrics disagrees with the router, an accepted event is unaccounted for, or `npm audit`
 * finds a high or critical issue in production dependencies.
 *
 *   node test/soak/run.ts [--duration 5m] [--rate 100] [--no-audit]     (npm run soak -- --duration 30s)
 */
import { execFile } from "node:child_process";
import { parseArgs } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import {
  identityHolds,
  keepAlive,
  metricsDisagreement,
  metricSum,
  scrape,
  send,
} from "../reliability/support/http.ts";
import { allReady, startPlane, webhookNotifier, type Plane } from "../reliability/support/plane.ts";
import {
  startCountingReceiver,
  type Behaviour,
  type CountingReceiver,
} from "../reliability/support/receiver.ts";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "5m" },
    /** Requests per second to /events, over all posters (a tenth of them are batches of five). */
    rate: { type: "string", default: "100" },
    "no-audit": { type: "boolean", default: false },
  },
});
const durationMs = parseDuration(values.duration);
const POSTERS = 4;
/** The notifiers' per-request deadline; answers later than LATE_ANSWER_MS after arrival may race it. */
const TIMEOUT_MS = 500;
const LATE_ANSWER_MS = TIMEOUT_MS - 100;
const postIntervalMs = (1000 * POSTERS) / Number(values.rate);
const failures: string[] = [];
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const heapAfterGc = () => {
  gc();
  return process.memoryUsage().heapUsed;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new Error(`--duration must look like 30s, 5m or 1h (got "${text}")`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2] ?? "s"]!;
  return Number(match[1]) * unit;
}

async function audit(): Promise<string> {
  return new Promise((resolve) => {
    execFile(
      "npm",
      ["audit", "--omit=dev", "--audit-level=high", "--json"],
      { timeout: 120_000 },
      (err, stdout) => {
        let counts: Record<string, number> | undefined;
        try {
          counts = (JSON.parse(stdout) as { metadata?: { vulnerabilities?: Record<string, number> } })
            .metadata?.vulnerabilities;
        } catch {
          counts = undefined;
        }
        if (!counts) {
          failures.push(
            `npm audit gave no answer: ${(err as Error | null)?.message ?? stdout.slice(0, 200)}`,
          );
          resolve("no answer");
          return;
        }
        const serious = (counts.high ?? 0) + (counts.critical ?? 0);
        if (serious > 0 || (err && (err as { code?: number }).code !== 0))
          failures.push(`npm audit: ${serious} high or critical vulnerabilities in production dependencies`);
        resolve(
          Object.entries(counts)
            .map(([level, n]) => `${level} ${n}`)
            .join(", "),
        );
      },
    );
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<number> {
  const auditFigure = values["no-audit"] ? "not run (--no-audit)" : await audit();
  const everything = await startCountingReceiver();
  const demoOnly = await startCountingReceiver();
  const receivers: CountingReceiver[] = [everything, demoOnly];
  const delivery = {
    queueSize: 2_000,
    maxRetries: 5,
    initialBackoffMs: 20,
    maxBackoffMs: 500,
    timeoutSeconds: 0.5,
  };
  const plane: Plane = await startPlane({
    sources: [
      {
        name: "beats",
        file: "plugins/heartbeat/main.ts",
        config: { intervalSeconds: 0.05, maxReplay: 100_000 },
      },
      { name: "demo", file: "plugins/cloudevents/main.ts" },
    ],
    executors: [{ name: "echo", file: "plugins/echo/main.ts", prefixes: ["echo"], timeoutSeconds: 2 }],
    notifiers: [
      webhookNotifier("everything", everything.url, delivery),
      webhookNotifier("demo-only", demoOnly.url, delivery, { sources: { names: ["demo"] } }),
    ],
  });
  await allReady(plane, [
    { kind: "source", name: "beats" },
    { kind: "source", name: "demo" },
    { kind: "executor", name: "echo" },
  ]);
  const router = plane.dataPlane.router;
  const heapAtStart = heapAfterGc();
  const started = Date.now();
  const until = started + durationMs;
  let running = true;

  // Accounting sampled all along, and the peak RSS of the process hosting the data plane.
  let samples = 0;
  let maxRss = process.memoryUsage().rss;
  const rssAtStart = maxRss;
  const sampler = setInterval(() => {
    samples++;
    maxRss = Math.max(maxRss, process.memoryUsage().rss);
    for (const [name, stats] of Object.entries(router.stats().notifiers))
      if (!identityHolds(stats)) failures.push(`identity broken for ${name}: ${JSON.stringify(stats)}`);
  }, 100);

  // Load: CloudEvents (single, batch, and re-sent ids that the router must dedup), and commands.
  const accepted = new Set<string>();
  const latencies: number[] = [];
  const commandLatencies: number[] = [];
  const outcomes: Record<string, number> = {};
  const count = (what: string) => (outcomes[what] = (outcomes[what] ?? 0) + 1);
  let next = 0;
  let lastAccepted: string | undefined;
  const agent = keepAlive();
  const poster = async () => {
    while (running) {
      const batch = next % 10 === 0;
      const ids = batch ? [0, 1, 2, 3, 4].map(() => `soak-${++next}`) : [`soak-${++next}`];
      // Every 7th request re-sends an id already accepted: delivered once all the same.
      if (!batch && next % 7 === 0 && lastAccepted !== undefined) ids[0] = lastAccepted;
      const events = ids.map((id) => ({
        specversion: "1.0",
        id,
        source: "demo",
        type: "com.example.soak",
        data: { n: next },
      }));
      const begin = performance.now();
      try {
        const answer = await send(
          plane.url,
          batch
            ? {
                path: "/events",
                headers: { "content-type": "application/cloudevents-batch+json" },
                body: JSON.stringify(events),
              }
            : {
                path: "/events",
                headers: { "content-type": "application/cloudevents+json" },
                body: JSON.stringify(events[0]),
              },
          agent,
        );
        latencies.push(performance.now() - begin);
        count(`events ${answer.status}`);
        if (answer.status === 202) {
          for (const id of ids) accepted.add(id);
          lastAccepted = ids.at(-1);
        } else if (answer.status !== 503)
          failures.push(`/events answered ${answer.status}: ${answer.body.slice(0, 200)}`);
      } catch (err) {
        count(`events ${(err as NodeJS.ErrnoException).code}`);
      }
      await sleep(Math.max(0, postIntervalMs - (performance.now() - begin)));
    }
  };
  const commander = async () => {
    let n = 0;
    while (running) {
      const begin = performance.now();
      const answer = await send(plane.url, {
        path: "/commands",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ command: `echo soak ${++n}` }),
      });
      commandLatencies.push(performance.now() - begin);
      count(`commands ${answer.status}`);
      if (answer.status !== 200 && answer.status !== 503)
        failures.push(`/commands answered ${answer.status}: ${answer.body.slice(0, 200)}`);
      await sleep(20);
    }
  };

  // Faults: a plugin killed every 4 s; the receivers misbehave 2 s out of every 5.
  let kills = 0;
  const killer = async () => {
    const victims = ["beats", "demo", "beats", "echo"];
    while (running) {
      await sleep(4_000);
      if (!running) return;
      const pid = plane.plugins.get(victims[kills % victims.length]!)!.process.pid;
      if (pid) {
        process.kill(pid, "SIGKILL");
        kills++;
      }
    }
  };
  const faults: Behaviour[] = [
    { kind: "fail", status: 500 },
    { kind: "hang" },
    { kind: "throttle", retryAfterSeconds: 1 },
    { kind: "slow", delayMs: 50 },
  ];
  const faulter = async () => {
    for (let i = 0; running; i++) {
      await sleep(3_000);
      if (!running) return;
      for (const receiver of receivers) receiver.behave(faults[i % faults.length]!);
      await sleep(2_000);
      for (const receiver of receivers) receiver.behave({ kind: "accept" });
    }
  };

  const loops = [...Array.from({ length: POSTERS }, poster), commander(), killer(), faulter()];
  while (Date.now() < until) await sleep(250);
  running = false;
  await Promise.all(loops);
  for (const receiver of receivers) receiver.behave({ kind: "accept" });
  agent.destroy();

  // No new events from here on (the heartbeat would keep publishing), then let every queue empty.
  await Promise.all([...plane.plugins.values()].map((plugin) => plugin.stop()));
  const settleBy = Date.now() + 60_000;
  const busy = () => Object.values(router.stats().notifiers).some((s) => s.queued + s.inFlight > 0);
  while (busy() && Date.now() < settleBy) await sleep(100);
  if (busy()) failures.push("the notifier queues did not empty within 60 s after the load stopped");
  clearInterval(sampler);

  const heapAtEnd = heapAfterGc();
  const stats = router.stats();
  const metrics = await scrape(plane.managementUrl);
  failures.push(...metricsDisagreement(stats, metrics));
  const beatsPublished =
    metricSum(metrics, "patchbay_events_received_total", { source: "beats" }) -
    metricSum(metrics, "patchbay_events_duplicate_total", { source: "beats" });
  const checks: [string, CountingReceiver, number][] = [
    ["everything", everything, accepted.size + beatsPublished],
    ["demo-only", demoOnly, accepted.size],
  ];
  for (const [name, receiver, expected] of checks) {
    const s = stats.notifiers[name]!;
    if (s.received !== expected)
      failures.push(`${name}: received ${s.received}, expected ${expected} (accepted, deduplicated)`);
    if (s.received !== s.delivered + s.failed + s.dropped)
      failures.push(`${name}: not every event accounted for: ${JSON.stringify(s)}`);
    if (s.delivered !== receiver.accepted.size)
      failures.push(
        `${name}: router says ${s.delivered} delivered, the receiver accepted ${receiver.accepted.size} distinct ids`,
      );
    // At-least-once: an answer that comes after the notifier's deadline is not seen, and the retry
    // is a second delivery. Only a duplicate of an answer the notifier did see is a failure.
    const duplicates = receiver.duplicatesWithin(LATE_ANSWER_MS);
    if (duplicates.length > 0)
      failures.push(
        `${name}: ${duplicates.length} ids delivered twice, e.g. ${duplicates.slice(0, 3).join(", ")}`,
      );
  }
  const undelivered = [...accepted].filter((id) => !demoOnly.accepted.has(id)).length;
  const demoStats = stats.notifiers["demo-only"]!;
  if (undelivered !== demoStats.failed + demoStats.dropped)
    failures.push(
      `demo-only: ${undelivered} accepted events undelivered, but failed + dropped = ${demoStats.failed + demoStats.dropped}`,
    );

  await plane.stop();
  for (const receiver of receivers) await receiver.close();
  const sorted = [...latencies].sort((a, b) => a - b);
  const commandSorted = [...commandLatencies].sort((a, b) => a - b);
  const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  const figures: [string, string | number][] = [
    ["duration", `${((Date.now() - started) / 1000).toFixed(0)} s of load (${values.duration}) + settling`],
    ["events accepted (202, distinct ids)", accepted.size],
    ["requests to /events", `${sorted.length} (target ${values.rate}/s)`],
    ["heartbeats published", beatsPublished],
    ["duplicates absorbed by the router", stats.duplicates],
    ...Object.entries(stats.notifiers).map(([name, s]): [string, string] => [
      `notifier ${name}`,
      `received ${s.received}, delivered ${s.delivered}, failed ${s.failed}, dropped ${s.dropped} ${JSON.stringify(s.droppedByReason)}, retries ${s.retries}`,
    ]),
    [
      "duplicates seen at the receivers",
      `${receivers.reduce((n, r) => n + r.duplicatesWithin(LATE_ANSWER_MS).length, 0)} ` +
        `(plus ${receivers.reduce((n, r) => n + r.duplicates().length - r.duplicatesWithin(LATE_ANSWER_MS).length, 0)} retries of answers that came after the ${TIMEOUT_MS} ms deadline)`,
    ],
    ["plugin kills (SIGKILL)", kills],
    ["plugin restarts", [...plane.plugins].map(([name, p]) => `${name} ${p.process.restarts}`).join(", ")],
    ["answers", JSON.stringify(outcomes)],
    [
      "/events latency p50 / p99 / max",
      `${percentile(sorted, 50).toFixed(1)} / ${percentile(sorted, 99).toFixed(1)} / ${(sorted.at(-1) ?? 0).toFixed(1)} ms`,
    ],
    [
      "/commands latency p50 / p99",
      `${percentile(commandSorted, 50).toFixed(1)} / ${percentile(commandSorted, 99).toFixed(1)} ms`,
    ],
    ["RSS at start / max", `${mib(rssAtStart)} / ${mib(maxRss)} (test harness and receivers included)`],
    ["heap after GC at start / end", `${mib(heapAtStart)} / ${mib(heapAtEnd)}`],
    ["accounting samples", samples],
    ["npm audit --omit=dev", auditFigure],
  ];
  const width = Math.max(...figures.map(([label]) => label.length));
  for (const [label, value] of figures) console.log(`${label.padEnd(width)}  ${value}`);
  const unique = [...new Set(failures)];
  if (unique.length > 0) {
    console.log(`\nFAILED (${unique.length}):`);
    for (const failure of unique.slice(0, 20)) console.log(`  - ${failure}`);
    return 1;
  }
  console.log(
    "\nOK: no duplicates, accounting exact throughout, /metrics agrees, every accepted event accounted for",
  );
  return 0;
}

process.exitCode = await main();
// Plugin processes and sockets are closed; leave nothing behind even if something lingers.
setTimeout(() => process.exit(), 1_000).unref();
