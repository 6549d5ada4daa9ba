/**
 * Router: events from one source plugin's gRPC stream (a flooding plugin in its own process) through
 * the hub, dedup, filters and routing into three no-op notifiers, against the same stream read and
 * discarded by a bare gRPC client — the ceiling. Then the end-to-end latency (producer's clock →
 * notifier sink call) at half the router's maximum rate, against the bare client at the same rate.
 */
import type { Benchmark, BenchContext } from "./harness/benchmark.ts";
import { interleaved } from "./harness/benchmark.ts";
import { Worker } from "./harness/processes.ts";
import { figure, type Figure } from "./harness/results.ts";
import { median } from "./harness/stats.ts";
import { streamLatency, streamRates } from "./harness/streams.ts";
import type { HostParams, HostReady } from "./workers/data-plane-host.ts";
import type { FloodParams } from "./workers/flood-sources.ts";

const NOTIFIERS = 3;

export const router: Benchmark = {
  name: "router",
  async run(ctx: BenchContext): Promise<Figure[]> {
    const window = ctx.quick ? { warmupMs: 400, durationMs: 1_000 } : { warmupMs: 1_000, durationMs: 4_000 };
    const paused: FloodParams = { sources: 1, rate: -1 };
    const toRouter = await Worker.start<{ addresses: string[] }>("flood-sources", paused, {
      execArgv: ctx.profileFlags("producer"),
    });
    const toBare = await Worker.start<{ addresses: string[] }>("flood-sources", paused);
    const host = await Worker.start<HostReady>(
      "data-plane-host",
      {
        sources: [{ name: "flood", address: toRouter.ready.addresses[0] }],
        notifiers: NOTIFIERS,
        filter: { types: ["dev.patchbay.bench.*"], minSeverity: "info" },
      } satisfies HostParams,
      { execArgv: ctx.profileFlags("data-plane") },
    );
    const bare = await Worker.start(
      "grpc-reader",
      { addresses: toBare.ready.addresses },
      { execArgv: ctx.profileFlags("bare-reader") },
    );
    try {
      const rounds = await interleaved(
        ctx.rounds,
        async () => {
          const { received, dropped } = await streamRates([toRouter], host, ["received", "dropped"], window);
          return { rate: received, dropped };
        },
        async () => ({
          rate: (await streamRates([toBare], bare, ["received"], window)).received,
          dropped: 0,
        }),
      );
      ctx.log(
        `events/s router/bare: ${rounds.map((r) => `${Math.round(r.subject.rate)}/${Math.round(r.baseline.rate)}`).join(" ")}`,
      );
      const dropped = rounds.some((r) => r.subject.dropped > 0);
      const maxRate = median(rounds.map((r) => r.subject.rate));
      const half = Math.max(1, Math.round(maxRate / 2));
      const latencyRounds = await interleaved(
        ctx.quick ? 1 : ctx.rounds,
        () => streamLatency([toRouter], host, half, window),
        () => streamLatency([toBare], bare, half, window),
      );
      return [
        figure("router", ctx.command, {
          name: `1 source → ${NOTIFIERS} no-op notifiers`,
          unit: "events/s",
          baselineName: "bare gRPC reader",
          rounds: rounds.map((r) => ({ value: r.subject.rate, baseline: r.baseline.rate })),
          target: ({ ratio, value }) => ({
            description: "≥ 0.5 of the ceiling and ≥ 50,000 events/s",
            met: ratio >= 0.5 && value >= 50_000,
          }),
          notes: dropped ? "events were dropped on full notifier queues while measuring" : undefined,
        }),
        ...(["p50", "p99"] as const).map((p) =>
          figure("router", ctx.command, {
            name: `end-to-end latency ${p} at ${half.toLocaleString("en-US")} events/s`,
            unit: "ms",
            baselineName: "bare gRPC reader",
            rounds: latencyRounds.map((r) => ({ value: r.subject[p], baseline: r.baseline[p] })),
          }),
        ),
      ];
    } finally {
      await Promise.all([host.stop(), bare.stop(), toRouter.stop(), toBare.stop()]);
    }
  },
};
