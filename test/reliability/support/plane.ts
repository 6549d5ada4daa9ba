/**
 * A whole data plane on 127.0.0.1 for the reliability suite: the real DataPlane (hub, router, ingress,
 * dispatcher, management port) with real plugin processes started through the process runtime, and
 * notifiers delivering to real HTTP receivers.
 */
import type { Notifier, NotifierDelivery, NotifierSpec } from "../../../src/api/v1alpha1/index.ts";
import { DataPlane } from "../../../src/app/index.ts";
import type { PluginKindName } from "../../../src/hub/index.ts";
import { runProcessPlugin, type RunningProcessPlugin } from "../../../src/local/index.ts";
import { createLogger } from "../../../src/observability/logger.ts";
import { LocalSecretResolver } from "../../../src/secrets/index.ts";

export const quietLog = createLogger("reliability", "error");

export interface SourceDecl {
  name: string;
  file: string;
  config?: unknown;
  labels?: Record<string, string>;
  env?: Record<string, string>;
}

export interface ExecutorDecl extends SourceDecl {
  prefixes: string[];
  timeoutSeconds?: number;
  aliases?: Record<string, string>;
}

export interface PlaneOptions {
  sources?: SourceDecl[];
  executors?: ExecutorDecl[];
  notifiers?: Notifier[];
  tokens?: string[];
  maxBodyBytes?: number;
}

export interface Plane {
  readonly dataPlane: DataPlane;
  readonly url: string;
  readonly managementUrl: string;
  readonly plugins: Map<string, RunningProcessPlugin>;
  /** Stops the data plane (draining up to deadlineMs) and every plugin process. */
  stop(deadlineMs?: number): Promise<void>;
}

/** Fast reconnects so a killed plugin is back within a fraction of a second. */
export const FAST_HUB = {
  backoffInitialMs: 50,
  backoffMaxMs: 200,
  stableAfterMs: 60_000,
  describeTimeoutMs: 3_000,
};
export const FAST_PROCESS = {
  restartInitialMs: 50,
  restartMaxMs: 200,
  stableAfterMs: 60_000,
  stopGraceMs: 3_000,
};

export async function startPlane(options: PlaneOptions): Promise<Plane> {
  const dataPlane = new DataPlane({
    ingress: { host: "127.0.0.1", port: 0, tokens: options.tokens, maxBodyBytes: options.maxBodyBytes },
    management: { host: "127.0.0.1", port: 0 },
    secrets: new LocalSecretResolver(),
    log: quietLog,
    hubTimings: FAST_HUB,
  });
  const sources = options.sources ?? [];
  const executors = options.executors ?? [];
  dataPlane.setSources(sources.map(({ name, labels }) => ({ name, labels })));
  dataPlane.setExecutors(
    executors.map((e) => ({
      name: e.name,
      prefixes: e.prefixes,
      aliases: e.aliases ?? {},
      timeoutMs: (e.timeoutSeconds ?? 10) * 1000,
    })),
  );
  const problems = await dataPlane.setNotifiers(options.notifiers ?? []);
  if (problems.length > 0) throw new Error(`notifiers refused: ${JSON.stringify(problems)}`);
  await dataPlane.start();
  const plugins = new Map<string, RunningProcessPlugin>();
  const run = (kind: PluginKindName, decl: SourceDecl) =>
    plugins.set(
      decl.name,
      runProcessPlugin(
        dataPlane.hub,
        {
          kind,
          name: decl.name,
          config: decl.config ?? {},
          process: {
            name: `${kind}/${decl.name}`,
            command: ["node", decl.file],
            env: { PATCHBAY_LOG_LEVEL: "error", ...decl.env },
          },
        },
        quietLog,
        FAST_PROCESS,
      ),
    );
  for (const source of sources) run("source", source);
  for (const executor of executors) run("executor", executor);
  let stopped: Promise<void> | undefined;
  return {
    dataPlane,
    url: dataPlane.ingressUrl!,
    managementUrl: dataPlane.managementUrl!,
    plugins,
    stop: (deadlineMs = 1_000) =>
      (stopped ??= (async () => {
        await dataPlane.stop(deadlineMs);
        await Promise.all([...plugins.values()].map((plugin) => plugin.stop()));
      })()),
  };
}

/** Resolves once every named plugin is Ready. */
export async function allReady(plane: Plane, names: { kind: PluginKindName; name: string }[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const waiting = names.filter(
      ({ kind, name }) => plane.dataPlane.hub.state(kind, name)?.phase !== "Ready",
    );
    if (waiting.length === 0) return;
    if (Date.now() > deadline) {
      const states = waiting.map(({ kind, name }) => JSON.stringify(plane.dataPlane.hub.state(kind, name)));
      throw new Error(`plugins not ready after 20 s: ${states.join("; ")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function webhookNotifier(
  name: string,
  url: string,
  delivery: NotifierDelivery = {},
  extra: Partial<NotifierSpec> = {},
): Notifier {
  return {
    apiVersion: "patchbay.dev/v1alpha1",
    kind: "Notifier",
    metadata: { name },
    spec: {
      type: "webhook",
      webhook: { url: { value: url } },
      delivery: { initialBackoffMs: 5, maxBackoffMs: 50, ratePerSecond: 0, timeoutSeconds: 2, ...delivery },
      ...extra,
    },
  };
}
