/**
 * The JetStream event bus: CloudEvents POSTed to /events of the assembled data plane with
 * `eventBus` set (each answered 202 only once JetStream stored it, with its dedup message id; a no-op
 * notifier fed from the durable consumer), against a bare JetStream publisher — the maintained client
 * publishing the same 1 KiB event with a message id and awaiting each PubAck, as many in flight as the
 * load generator has connections — into a stream configured the same, on the same nats-server (file
 * storage in a temporary folder), in the same run. Also the end-to-end rate: events delivered to the
 * notifier per second while the ingress runs.
 */
import type { Benchmark, BenchContext } from "./harness/benchmark.ts";
import { interleaved } from "./harness/benchmark.ts";
import { Worker } from "./harness/processes.ts";
import { ID_MARKER, type RequestSpec } from "./harness/raw-http.ts";
import { figure, type Figure } from "./harness/results.ts";
import { NatsServer } from "../test/support/nats-server.ts";
import type { PublishRunParams } from "./workers/bare-jetstream.ts";
import type { HostCounts, HostParams, HostReady } from "./workers/data-plane-host.ts";
import type { LoadParams, LoadResult } from "./workers/http-load.ts";

const CONNECTIONS = 32;
const SOURCE = "bench";
const TYPE = "dev.patchbay.bench.eventbus";

function event(id: string): Record<string, unknown> {
  return {
    specversion: "1.0",
    id,
    source: SOURCE,
    type: TYPE,
    time: "2026-01-01T00:00:00Z",
    subject: "bench",
    datacontenttype: "application/json",
    data: { payload: "x".repeat(1024 - 14) },
  };
}

const REQUEST: RequestSpec = {
  method: "POST",
  path: "/events",
  headers: { "content-type": "application/cloudevents+json" },
  body: JSON.stringify(event(ID_MARKER)),
};

export const eventbus: Benchmark = {
  name: "eventbus",
  async run(ctx: BenchContext): Promise<Figure[]> {
    const timing = ctx.quick ? { warmupMs: 200, durationMs: 1_500 } : { warmupMs: 1_000, durationMs: 4_000 };
    const nats = await NatsServer.start();
    const workers: Worker[] = [];
    try {
      const host = await Worker.start<HostReady>(
        "data-plane-host",
        {
          sources: [{ name: SOURCE, plugin: "plugins/cloudevents/main.ts", config: { allowedTypes: [] } }],
          notifiers: 1,
          eventBus: nats.url,
        } satisfies HostParams,
        { execArgv: ctx.profileFlags("data-plane") },
      );
      workers.push(host);
      const bare = await Worker.start(
        "bare-jetstream",
        { url: nats.url, stream: "BENCH_BARE", subject: "bench.bare" },
        { execArgv: ctx.profileFlags("bare-jetstream") },
      );
      workers.push(bare);
      const load = await Worker.start("http-load", {});
      workers.push(load);

      let deliveredPerSecond: number[] = [];
      const viaPatchbay = async () => {
        const before = await host.call<HostCounts>("counts");
        const began = performance.now();
        const result = await load.call<LoadResult>("run", {
          url: `${host.ready.ingressUrl}/events`,
          request: REQUEST,
          connections: CONNECTIONS,
          ...timing,
        } satisfies LoadParams);
        const after = await host.call<HostCounts>("counts");
        const seconds = (performance.now() - began) / 1000;
        const failed = Object.keys(result.errors).length;
        if (failed > 0) throw new Error(`eventbus ingress: error answers ${JSON.stringify(result.errors)}`);
        deliveredPerSecond.push((after.delivered - before.delivered) / seconds);
        return result;
      };
      const bareJetStream = async () => {
        const result = await bare.call<LoadResult>("run", {
          event: event("bare"),
          concurrency: CONNECTIONS,
          ...timing,
        } satisfies PublishRunParams);
        if (Object.keys(result.errors).length > 0)
          throw new Error(`bare JetStream publisher: errors ${JSON.stringify(result.errors)}`);
        return result;
      };
      const rounds = await interleaved(ctx.rounds, viaPatchbay, bareJetStream);
      ctx.log(
        `ingress/bare: ${rounds.map((r) => `${Math.round(r.subject.perSecond)}/${Math.round(r.baseline.perSecond)}`).join(" ")}; ` +
          `delivered/s: ${deliveredPerSecond.map(Math.round).join(" ")}`,
      );
      const figures = [
        figure("eventbus", ctx.command, {
          name: `ingress with the JetStream bus, structured, ${CONNECTIONS} conns`,
          unit: "events/s",
          baselineName: "bare JetStream publisher",
          rounds: rounds.map((r) => ({ value: r.subject.perSecond, baseline: r.baseline.perSecond })),
          target: ({ ratio }) => ({ description: "≥ 0.5 of the bare publisher", met: ratio >= 0.5 }),
        }),
        ...(["p50", "p99"] as const).map((p) =>
          figure("eventbus", ctx.command, {
            name: `ingress with the JetStream bus, latency ${p}`,
            unit: "ms",
            baselineName: "bare JetStream publisher",
            rounds: rounds.map((r) => ({ value: r.subject.latency[p], baseline: r.baseline.latency[p] })),
          }),
        ),
        figure("eventbus", ctx.command, {
          name: "end to end: delivered to a no-op notifier while the ingress runs",
          unit: "events/s",
          baselineName: "accepted by the ingress (202)",
          rounds: rounds.map((r, i) => ({ value: deliveredPerSecond[i]!, baseline: r.subject.perSecond })),
          notes:
            "one delivery at a time per notifier (max_ack_pending 1, which keeps the order): the consumer, not the ingress, bounds this",
        }),
      ];
      deliveredPerSecond = [];
      return figures;
    } finally {
      await Promise.all(workers.map((worker) => worker.stop()));
      await nats.dispose();
    }
  },
};
