/**
 * An operator against the Kubernetes API double, with real plugin processes standing in for the Pods
 * the double never runs (pod-mode endpoints are pointed at them).
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { parse } from "yaml";
import type { Condition } from "../../src/api/v1alpha1/index.ts";
import type { CloudEvent } from "../../src/events/cloudevent.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { MANAGER_DEPLOYMENT, startOperator, type RunningOperator } from "../../src/operator/index.ts";
import { startKubeApiDouble, type KubeApiDouble, type KubeObject } from "../support/kube-api/index.ts";
import { waitFor } from "../support/wait.ts";

export const CRDS = [
  "crds/patchbay.dev_sourceplugins.yaml",
  "crds/patchbay.dev_executorplugins.yaml",
  "crds/patchbay.dev_notifiers.yaml",
  "crds/patchbay.dev_actions.yaml",
];

export async function startCluster(): Promise<KubeApiDouble> {
  const api = await startKubeApiDouble({
    crds: CRDS,
    namespaces: ["default", "patchbay-system", "team-a", "team-b"],
  });
  // Patchbay's own Deployment, as config/ installs it: sidecars join it.
  const manifest = parse(readFileSync("config/manager/manager.yaml", "utf8")) as KubeObject;
  api.create(manifest);
  return api;
}

export function quietLog() {
  const log = createLogger("test", "error");
  return log;
}

export async function runOperator(
  api: KubeApiDouble,
  identity: string,
  endpoints: Map<string, string>,
  extra: { leaseDurationMs?: number; eventBus?: string } = {},
): Promise<RunningOperator> {
  return startOperator({
    kubeConfig: api.kubeConfig(),
    podNamespace: "patchbay-system",
    managerDeployment: { namespace: "patchbay-system", name: MANAGER_DEPLOYMENT },
    identity,
    ingress: { host: "127.0.0.1", port: 0 },
    management: { host: "127.0.0.1", port: 0 },
    leaderElection: {
      leaseDurationMs: extra.leaseDurationMs ?? 2_000,
      renewDeadlineMs: Math.round((extra.leaseDurationMs ?? 2_000) * 0.6),
      retryPeriodMs: 200,
    },
    // The double runs no Pods: each pod-mode plugin is a real process, found by the CR's name.
    resolveEndpoint: (plugin, endpoint) => endpoints.get(plugin.metadata.name) ?? endpoint,
    hubTimings: { backoffInitialMs: 50, backoffMaxMs: 500, describeTimeoutMs: 2_000 },
    eventBus: extra.eventBus,
    log: quietLog(),
    // Log Notifiers would print into the test runner's output.
    logStream: devNull,
  });
}

export const devNull = new Writable({ write: (_chunk, _encoding, callback) => callback() });

export function plugin(
  kind: "SourcePlugin" | "ExecutorPlugin" | "Notifier",
  name: string,
  spec: object,
  namespace = "team-a",
) {
  return { apiVersion: "patchbay.dev/v1alpha1", kind, metadata: { name, namespace }, spec };
}

export function ref(kind: string, name: string, namespace = "team-a") {
  const apiVersion = ["Deployment"].includes(kind)
    ? "apps/v1"
    : ["Service", "ServiceAccount", "Secret"].includes(kind)
      ? "v1"
      : "patchbay.dev/v1alpha1";
  return { apiVersion, kind, name, namespace };
}

export function conditionOf(obj: KubeObject | undefined, type: string): Condition | undefined {
  const status = obj?.status as { conditions?: Condition[] } | undefined;
  return status?.conditions?.find((condition) => condition.type === type);
}

/** Waits until the object's condition matches; returns the object. */
export async function waitForCondition(
  api: KubeApiDouble,
  target: ReturnType<typeof ref>,
  type: string,
  expected: Partial<Condition>,
  timeoutMs = 10_000,
): Promise<KubeObject> {
  let last: Condition | undefined;
  try {
    return await waitFor(
      () => {
        const obj = api.get(target);
        last = conditionOf(obj, type);
        const matches =
          last && Object.entries(expected).every(([key, value]) => last![key as keyof Condition] === value);
        return matches ? obj : undefined;
      },
      { timeoutMs, what: `${target.kind} ${target.name} ${type}=${JSON.stringify(expected)}` },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last seen: ${JSON.stringify(last)}`);
  }
}

/** Marks a Deployment available, as the Deployment controller would once its Pods are ready. */
export function markDeploymentAvailable(api: KubeApiDouble, name: string, namespace = "team-a"): void {
  api.patch(
    ref("Deployment", name, namespace),
    {
      status: {
        replicas: 1,
        readyReplicas: 1,
        availableReplicas: 1,
        conditions: [
          { type: "Available", status: "True", reason: "MinimumReplicasAvailable", message: "ok" },
        ],
      },
    },
    "merge",
    "status",
  );
}

export interface WebhookReceiver {
  /** Where a webhook Notifier posts. */
  url: string;
  /** Every CloudEvent received, in arrival order. */
  events: CloudEvent[];
  close(): Promise<void>;
}

/** A real HTTP server standing in for a webhook Notifier's endpoint (mode json): records and answers 200. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const events: CloudEvent[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      try {
        events.push(JSON.parse(Buffer.concat(chunks).toString("utf8")) as CloudEvent);
        res.writeHead(200).end();
      } catch {
        res.writeHead(400).end("not JSON");
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    events,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
