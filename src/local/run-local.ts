/**
 * `patchbay local`: the data plane with no cluster. Plugins come from the same CR YAML the operator
 * reads, run as child processes (or reached at an external address); notifiers deliver for real.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Writable } from "node:stream";
import type { ExecutorPlugin, SourcePlugin } from "../api/v1alpha1/index.ts";
import { DataPlane, type DataPlaneLimits } from "../app/index.ts";
import type { PluginKindName } from "../hub/index.ts";
import { loadManifests, type Located } from "../manifests/index.ts";
import { createLogger, type Logger } from "../observability/logger.ts";
import { LocalSecretResolver } from "../secrets/index.ts";
import { runProcessPlugin, type RunningProcessPlugin } from "./process-plugins.ts";

export interface LocalOptions {
  directory: string;
  host: string;
  port: number;
  managementPort: number;
  log?: Logger;
  /** Where log notifiers print events; default stdout. */
  logStream?: Writable;
  /** Install SIGTERM/SIGINT handlers that stop everything and exit (default true). */
  handleSignals?: boolean;
  /** How long shutdown may spend delivering queued events. Default 10 s. */
  drainMs?: number;
  /** Memory and concurrency limits (from flags); unset ones come from the environment, else defaults. */
  limits?: Partial<DataPlaneLimits>;
  /** A nats:// URL: events are stored in NATS JetStream before they are acknowledged; unset, held in memory. */
  eventBus?: string;
  /** The cluster's name (--cluster-name), shown in every notification; unset, none is. */
  clusterName?: string;
}

export interface LocalRun {
  readonly dataPlane: DataPlane;
  /** Problems found in the manifests (each also logged). */
  readonly problems: string[];
  stop(): Promise<void>;
}

const DEFAULT_TIMEOUT_SECONDS = 30;

export async function runLocal(options: LocalOptions): Promise<LocalRun> {
  const log = options.log ?? createLogger("patchbay");
  const manifests = await loadManifests(options.directory);
  const problems = [...manifests.problems];
  const dataPlane = new DataPlane({
    ingress: { host: options.host, port: options.port, tokens: ingressTokens() },
    management: { host: options.host, port: options.managementPort },
    secrets: new LocalSecretResolver(),
    log,
    logStream: options.logStream,
    limits: options.limits,
    eventBus: options.eventBus,
    clusterName: options.clusterName,
  });

  dataPlane.setSources(
    manifests.sources
      .filter(({ resource }) => !resource.spec.suspend)
      .map(({ resource }) => ({
        name: resource.metadata.name,
        labels: resource.metadata.labels ?? {},
      })),
  );
  dataPlane.setExecutors(
    manifests.executors
      .filter(({ resource }) => !resource.spec.suspend)
      .map(({ resource }) => ({
        name: resource.metadata.name,
        prefixes: resource.spec.prefixes,
        aliases: resource.spec.aliases ?? {},
        timeoutMs: (resource.spec.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
      })),
  );
  for (const problem of await dataPlane.setNotifiers(manifests.notifiers.map(({ resource }) => resource))) {
    problems.push(`Notifier '${problem.name}': ${problem.message}`);
  }
  for (const problem of dataPlane.setActions(manifests.actions.map(({ resource }) => resource))) {
    problems.push(`Action '${problem.name}': ${problem.message}`);
  }
  if (manifests.notifiers.length === 0)
    problems.push("no Notifier is declared: events are not delivered anywhere");

  await dataPlane.start();
  if (!options.eventBus)
    log.info(
      "events are held in memory: undelivered events are lost if this process stops or crashes; --event-bus nats://HOST:PORT stores them in NATS JetStream",
    );
  const running: RunningProcessPlugin[] = [];
  const plugins: [PluginKindName, Located<SourcePlugin | ExecutorPlugin>][] = [
    ...manifests.sources.map((item) => ["source", item] as [PluginKindName, Located<SourcePlugin>]),
    ...manifests.executors.map((item) => ["executor", item] as [PluginKindName, Located<ExecutorPlugin>]),
  ];
  for (const [kind, located] of plugins) {
    const problem = startPlugin(dataPlane, kind, located, log, running);
    if (problem) problems.push(problem);
  }
  for (const problem of problems) log.warn("configuration problem", { problem });
  log.info("patchbay local is running", {
    directory: options.directory,
    ingress: dataPlane.ingressUrl,
    management: dataPlane.managementUrl,
    sources: manifests.sources.length,
    executors: manifests.executors.length,
    notifiers: manifests.notifiers.length,
    actions: manifests.actions.length,
  });

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      log.info("shutting down: draining notifier queues");
      const stats = await dataPlane.stop(options.drainMs ?? 10_000);
      await Promise.all(running.map((plugin) => plugin.stop()));
      log.info("stopped", { received: stats.received, duplicates: stats.duplicates });
    })();
    return stopping;
  };
  if (options.handleSignals ?? true) {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      process.once(signal, () => void stop().then(() => process.exit(0)));
    }
  }
  return { dataPlane, problems, stop };
}

/** Starts one plugin; returns a problem instead when its runtime cannot run locally. */
function startPlugin(
  dataPlane: DataPlane,
  kind: PluginKindName,
  { resource, directory, file }: Located<SourcePlugin | ExecutorPlugin>,
  log: Logger,
  running: RunningProcessPlugin[],
): string | undefined {
  const { name } = resource.metadata;
  const { runtime, config, suspend } = resource.spec;
  if (suspend) return undefined;
  if (runtime.external) {
    dataPlane.hub.upsert({ kind, name, config, address: runtime.external.address });
    return undefined;
  }
  if (!runtime.process) {
    const mode = runtime.pod ? "pod" : "sidecar";
    return `${file}: ${resource.kind} '${name}' uses the ${mode} runtime, which needs the operator; patchbay local runs process and external plugins`;
  }
  const { command, env, workingDir } = runtime.process;
  running.push(
    runProcessPlugin(
      dataPlane.hub,
      {
        kind,
        name,
        config,
        process: {
          name: `${kind}/${name}`,
          command,
          env,
          cwd: workingDir ? path.resolve(directory, workingDir) : undefined,
        },
      },
      log,
    ),
  );
  return undefined;
}

/** Bearer tokens for the ingress: PATCHBAY_INGRESS_TOKENS (comma-separated) or a file, one per line. */
function ingressTokens(): string[] {
  const file = process.env.PATCHBAY_INGRESS_TOKENS_FILE;
  const text = file
    ? readFileSync(file, "utf8").replace(/\n/g, ",")
    : (process.env.PATCHBAY_INGRESS_TOKENS ?? "");
  return text
    .split(",")
    .map((token) => token.trim())
    .filter(Boolean);
}
