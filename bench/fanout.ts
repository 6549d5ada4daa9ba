/**
 * Fan-out and fan-in: one source into 50 no-op notifiers, and 50 sources into one, each against the
 * same data plane with one source and one notifier (measured in the same rounds) — what the router
 * costs per extra notifier or source.
 */
import type { Benchmark, BenchContext } from "./harness/benchmark.ts";
import { Worker } from "./harness/processes.ts";
import { figure, type Figure, type Round } from "./harness/results.ts";
import { streamRates } from "./harness/streams.ts";
import type { HostParams, HostReady } from "./workers/data-plane-host.ts";

const WIDE = 50;

interface Setup {
  flood: Worker<{ addresses: string[] }>;
  host: Worker<HostReady>;
}

async function setup(ctx: BenchContext, label: string, sources: number, notifiers: number): Promise<Setup> {
  const flood = await Worker.start<{ addresses: string[] }>("flood-sources", { sources, rate: -1 });
  const host = await Worker.start<HostReady>(
    "data-plane-host",
    {
      sources: flood.ready.addresses.map((address, i) => ({ name: `flood-${i}`, address })),
      notifiers,
    } satisfies HostParams,
    { execArgv: ctx.profileFlags(label) },
  );
  return { flood, host };
}

export const fanout: Benchmark = {
  name: "fanout",
  async run(ctx: BenchContext): Promise<Figure[]> {
    const window = ctx.quick ? { warmupMs: 300, durationMs: 800 } : { warmupMs: 1_000, durationMs: 3_000 };
    const setups: Setup[] = [];
    try {
      const single = await setup(ctx, "1-to-1", 1, 1);
      setups.push(single);
      const out = await setup(ctx, `1-to-${WIDE}`, 1, WIDE);
      setups.push(out);
      const into = await setup(ctx, `${WIDE}-to-1`, WIDE, 1);
      setups.push(into);
      const rates = (s: Setup) => streamRates([s.flood], s.host, ["received", "delivered"], window);
      const fanOut: Round[] = [];
      const fanOutDeliveries: Round[] = [];
      const fanIn: Round[] = [];
      for (let round = 0; round < ctx.rounds; round++) {
        const baseline = await rates(single);
        const wideOut = await rates(out);
        fanOut.push({ value: wideOut.received, baseline: baseline.received });
        fanOutDeliveries.push({ value: wideOut.delivered, baseline: baseline.delivered });
        fanIn.push({ value: (await rates(into)).received, baseline: baseline.received });
      }
      ctx.log(
        `1→${WIDE} / 50→1 / 1→1 events/s: ${fanOut.map((r, i) => `${Math.round(r.value)}/${Math.round(fanIn[i]!.value)}/${Math.round(r.baseline)}`).join(" ")}`,
      );
      const dropped = (
        await Promise.all(setups.map((s) => s.host.call<{ dropped: number }>("counts")))
      ).reduce((n, c) => n + c.dropped, 0);
      const notes =
        dropped > 0 ? `${dropped} events dropped on full notifier queues during the run` : undefined;
      return [
        figure("fanout", ctx.command, {
          name: `1 source → ${WIDE} notifiers, events`,
          unit: "events/s",
          baselineName: "1 source → 1 notifier",
          rounds: fanOut,
          notes,
        }),
        figure("fanout", ctx.command, {
          name: `1 source → ${WIDE} notifiers, deliveries`,
          unit: "deliveries/s",
          baselineName: "1 source → 1 notifier",
          rounds: fanOutDeliveries,
          notes,
        }),
        figure("fanout", ctx.command, {
          name: `${WIDE} sources → 1 notifier`,
          unit: "events/s",
          baselineName: "1 source → 1 notifier",
          rounds: fanIn,
          notes,
        }),
      ];
    } finally {
      await Promise.all(setups.flatMap((s) => [s.host.stop(), s.flood.stop()]));
    }
  },
};
