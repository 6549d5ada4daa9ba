/**
 * Reconcile: N SourcePlugins (external runtime, all pointing at one idle source plugin; 1,000, or 200
 * with --quick) created at once against the Kubernetes API test double. Figures, each against a bare
 * controller that only watches them and writes each one's status once: the time until all are Ready,
 * the controller's CPU time, its RSS per plugin, and the requests it sends at rest (neither should send
 * any but watches and Lease renewals). The operator runs with the V8 flags the manager Deployment sets.
 */
import type { Benchmark, BenchContext } from "./harness/benchmark.ts";
import { managerNodeFlags, rssOf, sleep, Worker } from "./harness/processes.ts";
import { figure, type Figure, type Round } from "./harness/results.ts";

const REST_WINDOW_MS = 5_000;

interface Measured {
  seconds: number;
  cpuSeconds: number;
  rssPerPluginKiB: number;
  restRequests: number;
}

async function measure(
  api: Worker,
  controller: Worker,
  namespace: string,
  address: string,
  count: number,
): Promise<Measured> {
  const rss0 = rssOf(controller.pid);
  const cpu0 = await controller.call<number>("cpuMs");
  const t0 = performance.now();
  await api.call("createSources", { namespace, count, address });
  const deadline = t0 + 300_000;
  while ((await api.call<number>("readyCount", namespace)) < count) {
    if (performance.now() > deadline)
      throw new Error(`not all ${count} SourcePlugins in ${namespace} were Ready within 300 s`);
    await sleep(25);
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpuSeconds = ((await controller.call<number>("cpuMs")) - cpu0) / 1000;
  // Settle, then a window at rest: nothing changes, so nothing should be sent.
  await sleep(2_000);
  const restRequests = await api.call<number>("restRequests", { windowMs: REST_WINDOW_MS });
  const rssPerPluginKiB = (rssOf(controller.pid) - rss0) / 1024 / count;
  return { seconds, cpuSeconds, rssPerPluginKiB, restRequests };
}

export const reconcile: Benchmark = {
  name: "reconcile",
  async run(ctx: BenchContext): Promise<Figure[]> {
    const rounds = ctx.quick ? 1 : ctx.rounds;
    const count = ctx.quick ? 200 : 1000;
    const namespaces = Array.from({ length: rounds }, (_, i) => [`bench-${i}`, `bench-bare-${i}`]).flat();
    const api = await Worker.start<{ url: string }>("kube-api", { namespaces });
    const source = await Worker.start<{ address: string }>("idle-source", {});
    const workers: Worker[] = [api, source];
    try {
      const times: Round[] = [];
      const cpu: Round[] = [];
      const rss: Round[] = [];
      const rest: Round[] = [];
      for (let round = 0; round < rounds; round++) {
        // Each round gets fresh controllers and namespaces, so nothing is cached from the last.
        const operator = await Worker.start(
          "operator",
          { url: api.ready.url, namespace: `bench-${round}` },
          { execArgv: [...managerNodeFlags(), ...ctx.profileFlags("operator")] },
        );
        const bare = await Worker.start("bare-status-writer", {
          url: api.ready.url,
          namespace: `bench-bare-${round}`,
        });
        workers.push(operator, bare);
        const subject = await measure(api, operator, `bench-${round}`, source.ready.address, count);
        const baseline = await measure(api, bare, `bench-bare-${round}`, source.ready.address, count);
        ctx.log(
          `round ${round}: operator ${subject.seconds.toFixed(2)} s (${subject.cpuSeconds.toFixed(2)} s CPU, ${subject.rssPerPluginKiB.toFixed(0)} KiB/plugin, ${subject.restRequests} requests at rest), bare ${baseline.seconds.toFixed(2)} s (${baseline.cpuSeconds.toFixed(2)} s CPU, ${baseline.rssPerPluginKiB.toFixed(0)} KiB/plugin)`,
        );
        times.push({ value: subject.seconds, baseline: baseline.seconds });
        cpu.push({ value: subject.cpuSeconds, baseline: baseline.cpuSeconds });
        rss.push({ value: subject.rssPerPluginKiB, baseline: baseline.rssPerPluginKiB });
        // Per second over the window; the bare writer's are its own (none once its writes are done).
        rest.push({
          value: subject.restRequests / (REST_WINDOW_MS / 1000),
          baseline: baseline.restRequests / (REST_WINDOW_MS / 1000),
        });
        await Promise.all([operator.stop(), bare.stop()]);
      }
      const baselineName = "bare watch + status write";
      return [
        figure("reconcile", ctx.command, {
          name: `${count} SourcePlugins created at once → all Ready`,
          unit: "s",
          baselineName,
          rounds: times,
        }),
        figure("reconcile", ctx.command, {
          name: `controller CPU time for ${count} SourcePlugins`,
          unit: "s",
          baselineName,
          rounds: cpu,
        }),
        figure("reconcile", ctx.command, {
          name: `RSS per plugin with ${count} SourcePlugins`,
          unit: "KiB",
          baselineName,
          rounds: rss,
        }),
        figure("reconcile", ctx.command, {
          name: `requests at rest (not watches or Lease renewals), ${count} SourcePlugins`,
          unit: "req/s",
          baselineName,
          rounds: rest,
          withDelta: true,
          target: ({ value }) => ({ description: "none at rest", met: value === 0 }),
        }),
      ];
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
  },
};
