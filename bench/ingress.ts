/**
 * Ingress: CloudEvents POSTed to /events of the assembled data plane (a real `cloudevents` source
 * plugin admits them, the router routes them to a no-op notifier), against a bare node:http server
 * that reads the body, JSON-parses it and answers 202 — the ceiling for one Node process. Structured
 * and binary mode one event per request, batch mode 100; 1 KiB of data per event; 32 keep-alive
 * connections from a load generator in its own process.
 */
import type { Benchmark, BenchContext } from "./harness/benchmark.ts";
import { interleaved } from "./harness/benchmark.ts";
import { Worker } from "./harness/processes.ts";
import { ID_MARKER, type RequestSpec } from "./harness/raw-http.ts";
import { figure, type Figure } from "./harness/results.ts";
import type { HostParams, HostReady } from "./workers/data-plane-host.ts";
import type { LoadParams, LoadResult } from "./workers/http-load.ts";

const CONNECTIONS = 32;
const BATCH = 100;
const SOURCE = "bench";
const TYPE = "dev.patchbay.bench.ingress";
const DATA = JSON.stringify({ payload: "x".repeat(1024 - 14) }); // 1 KiB of JSON

function structuredEvent(): Record<string, unknown> {
  return {
    specversion: "1.0",
    id: ID_MARKER,
    source: SOURCE,
    type: TYPE,
    time: "2026-01-01T00:00:00Z",
    subject: "bench",
    datacontenttype: "application/json",
    data: JSON.parse(DATA),
  };
}

const MODES: { mode: string; eventsPerRequest: number; request: RequestSpec }[] = [
  {
    mode: "structured",
    eventsPerRequest: 1,
    request: {
      method: "POST",
      path: "/events",
      headers: { "content-type": "application/cloudevents+json" },
      body: JSON.stringify(structuredEvent()),
    },
  },
  {
    mode: "binary",
    eventsPerRequest: 1,
    request: {
      method: "POST",
      path: "/events",
      headers: {
        "content-type": "application/json",
        "ce-specversion": "1.0",
        "ce-id": ID_MARKER,
        "ce-source": SOURCE,
        "ce-type": TYPE,
        "ce-time": "2026-01-01T00:00:00Z",
      },
      body: DATA,
    },
  },
  {
    mode: "batch",
    eventsPerRequest: BATCH,
    request: {
      method: "POST",
      path: "/events",
      headers: { "content-type": "application/cloudevents-batch+json" },
      body: JSON.stringify(Array.from({ length: BATCH }, structuredEvent)),
    },
  },
];

export const ingress: Benchmark = {
  name: "ingress",
  async run(ctx: BenchContext): Promise<Figure[]> {
    const timing = ctx.quick ? { warmupMs: 200, durationMs: 800 } : { warmupMs: 1_000, durationMs: 4_000 };
    const bare = await Worker.start<{ url: string }>(
      "bare-http",
      {},
      { execArgv: ctx.profileFlags("bare-http") },
    );
    const host = await Worker.start<HostReady>(
      "data-plane-host",
      {
        sources: [{ name: SOURCE, plugin: "plugins/cloudevents/main.ts", config: { allowedTypes: [] } }],
        notifiers: 1,
      } satisfies HostParams,
      { execArgv: ctx.profileFlags("data-plane") },
    );
    const load = await Worker.start("http-load", {});
    const figures: Figure[] = [];
    try {
      for (const { mode, eventsPerRequest, request } of MODES) {
        const run = (url: string) => async () => {
          const result = await load.call<LoadResult>("run", {
            url,
            request,
            connections: CONNECTIONS,
            ...timing,
          } satisfies LoadParams);
          const failed = Object.keys(result.errors).length;
          if (failed > 0) throw new Error(`ingress ${mode}: error answers ${JSON.stringify(result.errors)}`);
          return result;
        };
        const rounds = await interleaved(
          ctx.rounds,
          run(`${host.ready.ingressUrl}/events`),
          run(bare.ready.url),
        );
        ctx.log(
          `${mode}: ` +
            rounds
              .map((r) => `${Math.round(r.subject.perSecond)}/${Math.round(r.baseline.perSecond)}`)
              .join(" "),
        );
        const perSecond = eventsPerRequest === 1 ? "requests/s" : "events/s";
        figures.push(
          figure("ingress", ctx.command, {
            name: `${mode}${eventsPerRequest > 1 ? ` (batches of ${eventsPerRequest})` : ""}, ${CONNECTIONS} conns`,
            unit: perSecond,
            baselineName: "bare node:http",
            rounds: rounds.map((r) => ({
              value: r.subject.perSecond * eventsPerRequest,
              baseline: r.baseline.perSecond * eventsPerRequest,
            })),
            target: ({ ratio }) => ({ description: "≥ 0.6 of the ceiling", met: ratio >= 0.6 }),
          }),
        );
        for (const p of ["p50", "p99"] as const) {
          figures.push(
            figure("ingress", ctx.command, {
              name: `${mode} latency ${p}`,
              unit: "ms",
              baselineName: "bare node:http",
              rounds: rounds.map((r) => ({ value: r.subject.latency[p], baseline: r.baseline.latency[p] })),
            }),
          );
        }
      }
      const counts = await host.call<{ received: number; dropped: number }>("counts");
      ctx.log(`data plane routed ${counts.received} events, dropped ${counts.dropped}`);
    } finally {
      await Promise.all([bare.stop(), host.stop(), load.stop()]);
    }
    return figures;
  },
};
