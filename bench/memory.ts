/**
 * Memory: the resident set of the real `patchbay local` (the CLI with config/local: heartbeat, demo
 * CloudEvents source, echo executor, log notifier), idle once startup has settled — the host process
 * alone and with its plugin processes — and the host after a million events posted to /events in
 * batches. Baseline: a bare `node -e "setInterval(()=>{},1000)"` measured in the same run.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import type { Benchmark, BenchContext } from "./harness/benchmark.ts";
import {
  descendantsOf,
  managerNodeFlags,
  MiB,
  REPO_ROOT,
  rssOf,
  settledRss,
  stopProcess,
  Worker,
} from "./harness/processes.ts";
import { ID_MARKER } from "./harness/raw-http.ts";
import { figure, type Figure, type Round } from "./harness/results.ts";
import { NatsServer } from "../test/support/nats-server.ts";
import type { LoadParams, LoadResult } from "./workers/http-load.ts";

const PLUGINS = 3;
const BATCH = 100;

interface Started {
  child: ChildProcess;
  ingressUrl: string;
}

/** Starts `patchbay local` and resolves once it listens and all its plugins are Ready. */
async function startLocal(execArgv: string[], extraArgs: string[] = []): Promise<Started> {
  const child = spawn(
    process.execPath,
    [...execArgv, "src/cli/main.ts", "local", "--port", "0", "--management-port", "0", ...extraArgs],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, PATCHBAY_LOG_LEVEL: "info" },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let ingressUrl: string | undefined;
  let ready = 0;
  const lines = createInterface({ input: child.stderr! });
  const started = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("patchbay local did not start within 60 s")), 60_000);
    child.once("exit", (code) => reject(new Error(`patchbay local exited with ${code} while starting`)));
    lines.on("line", (line) => {
      let entry: { message?: string; ingress?: string; phase?: string };
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      if (entry.message === "patchbay local is running") ingressUrl = entry.ingress;
      if (entry.message === "plugin state" && entry.phase === "Ready") ready++;
      if (ingressUrl && ready >= PLUGINS) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  await started;
  return { child, ingressUrl: ingressUrl! };
}

interface Posting {
  posted: number;
  seconds: number;
  /** The host's RSS at its highest while posting, sampled every 200 ms. */
  peak: number;
}

/** Posts `events` CloudEvents to /events in batches of BATCH over 8 connections. */
async function postEvents(load: Worker, local: Started, events: number): Promise<Posting> {
  const host = local.child.pid!;
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(host))), 200);
  const result = await load
    .call<LoadResult>("run", {
      url: `${local.ingressUrl}/events`,
      connections: 8,
      totalRequests: events / BATCH,
      request: {
        method: "POST",
        path: "/events",
        headers: { "content-type": "application/cloudevents-batch+json" },
        body: JSON.stringify(
          Array.from({ length: BATCH }, () => ({
            specversion: "1.0",
            id: ID_MARKER,
            source: "demo",
            type: "com.example.bench",
            data: { n: 1 },
          })),
        ),
      },
    } satisfies LoadParams)
    .finally(() => clearInterval(sampler));
  if (Object.keys(result.errors).length > 0)
    throw new Error(`/events answered ${JSON.stringify(result.errors)}`);
  return { posted: result.requests * BATCH, seconds: result.seconds, peak };
}

/**
 * The same host and the same events with `--event-bus` on a nats-server (loopback, file store in a
 * temporary folder): JetStream holds the dedup window and the backlog, so the host should stay flat.
 * Against the same run's in-memory figure.
 */
async function withEventBus(
  ctx: BenchContext,
  load: Worker,
  events: number,
  settleMs: number,
  inMemoryAfter: number,
): Promise<Figure[]> {
  const nats = await NatsServer.start();
  let local: Started | undefined;
  try {
    // The JetStream bus is the cluster's configuration: the host runs with the manager Deployment's V8
    // flags (without them V8 keeps the heap a burst grew, ~410 MiB here, though nothing grows per event).
    local = await startLocal(
      [...managerNodeFlags(), ...ctx.profileFlags("patchbay-local-event-bus")],
      ["--event-bus", nats.url],
    );
    const host = local.child.pid!;
    const idle = await settledRss(() => [host], settleMs);
    // In quarters, the settled RSS after each: state kept per event would show as growth from one
    // quarter to the next; the first quarter's jump is the heap the burst itself grew.
    const checkpoints: number[] = [];
    let posted = 0;
    let seconds = 0;
    let peak = 0;
    for (let quarter = 0; quarter < 4; quarter++) {
      const part = await postEvents(load, local, events / 4);
      posted += part.posted;
      seconds += part.seconds;
      peak = Math.max(peak, part.peak);
      checkpoints.push(await settledRss(() => [host], settleMs));
    }
    const after = checkpoints.at(-1)!;
    const first = checkpoints[0]!;
    const mibs = checkpoints.map((rss) => (rss / MiB).toFixed(1)).join(", ");
    ctx.log(
      `event bus: host idle ${(idle / MiB).toFixed(1)} MiB; posted ${posted} events in ${seconds.toFixed(1)} s (${Math.round(posted / seconds)} events/s); after each quarter ${mibs} MiB; peak ${(peak / MiB).toFixed(1)} MiB`,
    );
    const growth = (after - first) / MiB;
    return [
      figure("memory", ctx.command, {
        name: `host after ${posted.toLocaleString("en-US")} events, JetStream bus, the manager's V8 flags`,
        unit: "MiB",
        baselineName: "the same events, in-memory bus (same run)",
        rounds: [{ value: after / MiB, baseline: inMemoryAfter / MiB }],
        notes: `idle ${(idle / MiB).toFixed(1)} MiB before; after each quarter ${mibs} MiB; peak ${(peak / MiB).toFixed(1)} MiB while ${Math.round(posted / seconds)} events/s were posted in batches of ${BATCH}`,
      }),
      figure("memory", ctx.command, {
        name: `host growth over the last three quarters of ${posted.toLocaleString("en-US")} events, JetStream bus`,
        unit: "MiB",
        baselineName: "after the first quarter",
        rounds: [{ value: after / MiB, baseline: first / MiB }],
        withDelta: true,
        target: () => ({
          description: "flat: < 32 MiB from the first quarter to the last",
          met: growth < 32,
        }),
      }),
    ];
  } finally {
    if (local) await stopProcess(local.child);
    await nats.dispose();
  }
}

export const memory: Benchmark = {
  name: "memory",
  async run(ctx: BenchContext): Promise<Figure[]> {
    const settleMs = ctx.quick ? 1_500 : 10_000;
    // --quick posts fewer events to stay within its two minutes; the figure names how many.
    const events = ctx.quick ? 300_000 : 1_000_000;
    const bare = spawn(process.execPath, ["-e", "setInterval(()=>{},1000)"], { stdio: "ignore" });
    const local = await startLocal(ctx.profileFlags("patchbay-local"));
    const load = await Worker.start("http-load", {});
    try {
      const host = local.child.pid!;
      const plugins = descendantsOf(host);
      const [hostIdle, totalIdle, bareIdle] = await Promise.all([
        settledRss(() => [host], settleMs),
        settledRss(() => [host, ...descendantsOf(host)], settleMs),
        settledRss(() => [bare.pid!], settleMs),
      ]);
      ctx.log(
        `idle: host ${(hostIdle / MiB).toFixed(1)} MiB, with ${plugins.length} plugin processes ${(totalIdle / MiB).toFixed(1)} MiB, bare node ${(bareIdle / MiB).toFixed(1)} MiB`,
      );

      const posting = await postEvents(load, local, events);
      const { posted, peak, seconds } = posting;
      ctx.log(
        `posted ${posted} events in ${seconds.toFixed(1)} s (${Math.round(posted / seconds)} events/s); peak host RSS ${(peak / MiB).toFixed(1)} MiB`,
      );
      const [hostAfter, bareAfter] = await Promise.all([
        settledRss(() => [host], settleMs),
        settledRss(() => [bare.pid!], settleMs),
      ]);
      const mib = (round: Round): Round => ({ value: round.value / MiB, baseline: round.baseline / MiB });
      return [
        figure("memory", ctx.command, {
          name: "patchbay local idle, host process",
          unit: "MiB",
          baselineName: "bare node",
          rounds: [mib({ value: hostIdle, baseline: bareIdle })],
          target: ({ value }) => ({ description: "< 80 MiB", met: value < 80 }),
        }),
        figure("memory", ctx.command, {
          name: `patchbay local idle, host + ${plugins.length} plugin processes`,
          unit: "MiB",
          baselineName: `${plugins.length + 1} × bare node`,
          rounds: [mib({ value: totalIdle, baseline: bareIdle * (plugins.length + 1) })],
        }),
        figure("memory", ctx.command, {
          name: `host after ${posted.toLocaleString("en-US")} events`,
          unit: "MiB",
          baselineName: "bare node",
          rounds: [mib({ value: hostAfter, baseline: bareAfter })],
          notes: `peak ${(peak / MiB).toFixed(1)} MiB while ${Math.round(posted / seconds)} events/s were posted in batches of ${BATCH}`,
        }),
        ...(await withEventBus(ctx, load, events, settleMs, hostAfter)),
      ];
    } finally {
      bare.kill();
      await Promise.all([stopProcess(local.child), load.stop()]);
    }
  },
};
