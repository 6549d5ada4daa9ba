/**
 * Reconcile: 200 SourcePlugins (external runtime, all pointing at one idle source plugin) created at
 * once against the Kubernetes API test double; the time until all are Ready and the operator's CPU
 * time, against a bare controller that only watches them and writes each one's status once.
 */
import type { Benchmark, BenchContext } from "./harness/benchmark.ts";
import { sleep, Worker } from "./harness/processes.ts";
import { figure, type Figure, type Round } from "./harness/results.ts";

const COUNT = 200;

async function timeUntilReady(
  api: Worker,
  controller: Worker,
  namespace: string,
  address: string,
): Promise<{ seconds: number; cpuSeconds: number }> {
  const cpu0 = await controller.call<number>("cpuMs");
  const t0 = performance.now();
  await api.call("createSources", { namespace, count: COUNT, address });
  const deadline = t0 + 120_000;
  while ((await api.call<number>("readyCount", namespace)) < COUNT) {
    if (performance.now() > deadline)
      throw new Error(`not all ${COUNT} SourcePlugins in ${namespace} were Ready within 120 s`);
    await sleep(25);
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpuSeconds = ((await controller.call<number>("cpuMs")) - cpu0) / 1000;
  return { seconds, cpuSeconds };
}

export const reconcile: Benchmark = {
  name: "reconcile",
  async run(ctx: BenchContext): Promise<Figure[]> {
    const rounds = ctx.quick ? 1 : ctx.rounds;
    const namespaces = Array.from({ length: rounds }, (_, i) => [`bench-${i}`, `bench-bare-${i}`]).flat();
    const api = await Worker.start<{ url: string }>("kube-api", { namespaces });
    const source = await Worker.start<{ address: string }>("idle-source", {});
    const workers: Worker[] = [api, source];
    try {
      const times: Round[] = [];
      const cpu: Round[] = [];
      for (let round = 0; round < rounds; round++) {
        // Each round gets fresh controllers and namespaces, so nothing is cached from the last.
        const operator = await Worker.start(
          "operator",
          { url: api.ready.url, namespace: `bench-${round}` },
          {
            execArgv: ctx.profileFlags("operator"),
          },
        );
        const bare = await Worker.start("bare-status-writer", {
          url: api.ready.url,
          namespace: `bench-bare-${round}`,
        });
        workers.push(operator, bare);
        const subject = await timeUntilReady(api, operator, `bench-${round}`, source.ready.address);
        const baseline = await timeUntilReady(api, bare, `bench-bare-${round}`, source.ready.address);
        ctx.log(
          `round ${round}: operator ${subject.seconds.toFixed(2)} s (${subject.cpuSeconds.toFixed(2)} s CPU), bare ${baseline.seconds.toFixed(2)} s (${baseline.cpuSeconds.toFixed(2)} s CPU)`,
        );
        times.push({ value: subject.seconds, baseline: baseline.seconds });
        cpu.push({ value: subject.cpuSeconds, baseline: baseline.cpuSeconds });
        await Promise.all([operator.stop(), bare.stop()]);
      }
      return [
        figure("reconcile", ctx.command, {
          name: `${COUNT} SourcePlugins created at once → all Ready`,
          unit: "s",
          baselineName: "bare watch + status write",
          rounds: times,
        }),
        figure("reconcile", ctx.command, {
          name: `controller CPU time for ${COUNT} SourcePlugins`,
          unit: "s",
          baselineName: "bare watch + status write",
          rounds: cpu,
        }),
      ];
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
  },
};
