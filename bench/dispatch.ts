/**
 * Command dispatch: what `POST /commands` → dispatcher → hub → the echo executor → answer adds over a
 * direct gRPC Execute call to the same executor process. Sequential calls over keep-alive connections
 * from a client process of their own; p50 and p99.
 */
import type { Benchmark, BenchContext } from "./harness/benchmark.ts";
import { interleaved } from "./harness/benchmark.ts";
import { Worker } from "./harness/processes.ts";
import { figure, type Figure } from "./harness/results.ts";
import type { LatencySummary } from "./harness/stats.ts";
import type { HostParams, HostReady } from "./workers/data-plane-host.ts";

export const dispatch: Benchmark = {
  name: "dispatch",
  async run(ctx: BenchContext): Promise<Figure[]> {
    const run = ctx.quick ? { calls: 1_000, warmup: 200 } : { calls: 5_000, warmup: 500 };
    const host = await Worker.start<HostReady>(
      "data-plane-host",
      {
        sources: [],
        executors: [
          { name: "echo", plugin: "plugins/echo/main.ts", prefixes: ["echo"], config: { upperCase: false } },
        ],
        notifiers: 0,
      } satisfies HostParams,
      { execArgv: ctx.profileFlags("data-plane") },
    );
    const client = await Worker.start("command-client", {});
    try {
      const url = host.ready.ingressUrl;
      const address = host.ready.addresses["executor/echo"]!;
      const rounds = await interleaved(
        ctx.rounds,
        () => client.call<LatencySummary>("viaHttp", { url, ...run }),
        () => client.call<LatencySummary>("viaGrpc", { address, ...run }),
      );
      return (["p50", "p99"] as const).map((p) =>
        figure("dispatch", ctx.command, {
          name: `POST /commands "echo hello", ${p}`,
          unit: "ms",
          baselineName: "direct gRPC Execute",
          rounds: rounds.map((r) => ({ value: r.subject[p], baseline: r.baseline[p] })),
          withDelta: true,
          target:
            p === "p50"
              ? ({ delta }) => ({ description: "adds < 1 ms at p50", met: (delta ?? Infinity) < 1 })
              : undefined,
        }),
      );
    } finally {
      await Promise.all([host.stop(), client.stop()]);
    }
  },
};
