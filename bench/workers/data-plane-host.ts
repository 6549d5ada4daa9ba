/**
 * The server under test: Patchbay's assembled data plane (hub → router → notifiers, ingress, command
 * dispatch) with sources and executors as real plugin processes or at given addresses, and notifiers
 * whose sink does nothing but count (and, on request, sample the end-to-end latency of each event).
 */
import { performance } from "node:perf_hooks";
import type { NotifierFilter } from "../../src/api/v1alpha1/index.ts";
import { DataPlane } from "../../src/app/index.ts";
import { BusNotifiers } from "../../src/bus/index.ts";
import type { CloudEvent } from "../../src/events/cloudevent.ts";
import type { PluginKindName } from "../../src/hub/index.ts";
import { runProcessPlugin, type RunningProcessPlugin } from "../../src/local/index.ts";
import { DELIVERED, type NotifierSink } from "../../src/notifiers/index.ts";
import { createLogger } from "../../src/observability/logger.ts";
import type { NotifierRoute } from "../../src/router/index.ts";
import { LocalSecretResolver } from "../../src/secrets/index.ts";
import { serveRpc, workerParams } from "../harness/rpc.ts";

export interface HostParams {
  /** A source is a plugin file run as a process, or an address already serving. */
  sources: { name: string; plugin?: string; address?: string; config?: unknown }[];
  executors?: { name: string; plugin: string; prefixes: string[]; config?: unknown }[];
  notifiers: number;
  filter?: NotifierFilter;
  /** A nats:// URL: the edges publish into this JetStream and the notifiers are its durable consumers. */
  eventBus?: string;
}

export interface HostReady {
  ingressUrl: string;
  /** Plugin addresses by "kind/name". */
  addresses: Record<string, string>;
}

export interface HostCounts {
  /** Events the router received (from streams and the ingress). */
  received: number;
  duplicates: number;
  /** Sink calls, over all notifiers. */
  delivered: number;
  dropped: number;
}

/** The extension attribute benchmark producers stamp with their clock (ms since the epoch, fractional). */
export const SENT_AT = "benchsentat";

const params = workerParams<HostParams>();
const log = createLogger("bench-host", "warn");
const dataPlane = new DataPlane({
  ingress: { host: "127.0.0.1", port: 0 },
  management: { host: "127.0.0.1", port: 0 },
  secrets: new LocalSecretResolver(),
  log,
  eventBus: params.eventBus,
});

let delivered = 0;
let latencies: number[] | undefined;
const sink: NotifierSink = {
  type: "noop",
  deliver: (event: CloudEvent) => {
    delivered++;
    const sentAt = event[SENT_AT];
    if (latencies !== undefined && typeof sentAt === "string") {
      latencies.push(performance.timeOrigin + performance.now() - Number(sentAt));
    }
    return Promise.resolve(DELIVERED);
  },
};
const routes: NotifierRoute[] = Array.from({ length: params.notifiers }, (_, i) => ({
  name: `noop-${i}`,
  type: "noop",
  filter: params.filter,
  // No pacing: the benchmark measures the router, not a platform's rate limit.
  delivery: { ratePerSecond: 0, queueSize: 10_000 },
  sink,
}));

dataPlane.setSources(params.sources.map(({ name }) => ({ name, labels: { bench: "true" } })));
dataPlane.setExecutors(
  (params.executors ?? []).map(({ name, prefixes }) => ({ name, prefixes, aliases: {}, timeoutMs: 10_000 })),
);
if (!params.eventBus) dataPlane.router.setNotifiers(routes);
await dataPlane.start();
// With a bus the router's queues are bypassed: the same no-op notifiers are fed from its consumers.
if (dataPlane.eventBus) await new BusNotifiers(dataPlane.eventBus, log).setNotifiers(routes);

const running: RunningProcessPlugin[] = [];
const plugins: [PluginKindName, { name: string; plugin?: string; address?: string; config?: unknown }][] = [
  ...params.sources.map((s) => ["source", s] as [PluginKindName, typeof s]),
  ...(params.executors ?? []).map((e) => ["executor", e] as [PluginKindName, typeof e]),
];
for (const [kind, { name, plugin, address, config }] of plugins) {
  if (address) dataPlane.hub.upsert({ kind, name, config: config ?? {}, address });
  else
    running.push(
      runProcessPlugin(
        dataPlane.hub,
        {
          kind,
          name,
          config: config ?? {},
          process: { name: `${kind}/${name}`, command: ["node", plugin!] },
        },
        log,
      ),
    );
}
await allReady(plugins.map(([kind, { name }]) => [kind, name]));

const addresses: Record<string, string> = {};
for (const state of dataPlane.hub.states()) addresses[`${state.kind}/${state.name}`] = state.address;

serveRpc(
  {
    counts: (): HostCounts => {
      const stats = dataPlane.router.stats();
      let dropped = 0;
      for (const notifier of Object.values(stats.notifiers)) dropped += notifier.dropped;
      return { received: stats.received, duplicates: stats.duplicates, delivered, dropped };
    },
    /** Starts sampling end-to-end latency (ms) at the sink. */
    startLatency: () => {
      latencies = [];
    },
    /** Stops sampling and returns the samples. */
    takeLatency: (): number[] => {
      const taken = latencies ?? [];
      latencies = undefined;
      return taken;
    },
  },
  { ingressUrl: dataPlane.ingressUrl!, addresses } satisfies HostReady,
);

const shutdown = async () => {
  await dataPlane.stop(1_000);
  await Promise.all(running.map((plugin) => plugin.stop()));
  process.exit(0);
};
process.once("SIGTERM", () => void shutdown());

async function allReady(wanted: [PluginKindName, string][]): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const waiting = wanted.filter(([kind, name]) => dataPlane.hub.state(kind, name)?.phase !== "Ready");
    if (waiting.length === 0) return;
    if (Date.now() > deadline) {
      const states = waiting.map(([kind, name]) => {
        const state = dataPlane.hub.state(kind, name);
        return `${kind}/${name}: ${state?.phase} ${state?.message}`;
      });
      throw new Error(`plugins not ready after 30 s: ${states.join("; ")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
