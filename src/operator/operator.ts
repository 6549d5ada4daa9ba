/**
 * `patchbay operator`: the data plane plus what feeds it from the cluster. Every replica serves the
 * ingress, so every replica keeps its data plane in line with the shared informers (DataPlaneSync:
 * plugins in the hub, sources, executors, notifiers). Only the Lease holder writes to the cluster
 * (the reconcilers) and consumes source streams, so no notification is sent twice; losing the Lease
 * stops the streams, while the hub stays connected for the ingress and commands.
 */
import { hostname } from "node:os";
import type { Writable } from "node:stream";
import {
  AppsV1Api,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1Deployment,
} from "@kubernetes/client-node";
import { clusterNameOf, DataPlane } from "../app/index.ts";
import {
  Controller,
  EventRecorder,
  keyOf,
  Manager,
  ResourceInformer,
  reuseConnections,
  specOrMetadataChanged,
  uniqueIdentity,
  type ObjectKey,
} from "../controller/index.ts";
import type { ConnectionTimings } from "../hub/index.ts";
import { createLogger, type Logger } from "../observability/logger.ts";
import { Cluster } from "./cluster.ts";
import { newIngressTokenSecret } from "./ingress-token-secret.ts";
import { MANAGER_POD_LABELS } from "./names.ts";
import { DataPlaneSync } from "./data-plane-sync.ts";
import { ActionReconciler, ActionSync, actionsUsing, type ActionObject } from "./action-reconciler.ts";
import { NotifierReconciler } from "./notifier-reconciler.ts";
import type { NotifierObject, PluginObject } from "./resources.ts";
import { PluginReconciler, type ManagerDeploymentRef } from "./plugin-reconciler.ts";
import { controllerOwnerKeys, OwnedObjects, WORKLOAD_KINDS } from "./owned-objects.ts";
import { statusShownOf } from "./plugin-status.ts";
import { PluginTargets } from "./plugin-targets.ts";
import { checkCluster, loadKubeConfig, startupTimeoutMs } from "./preflight.ts";
import { KubernetesSecretResolver } from "./secrets.ts";

export const LEASE_NAME = "patchbay-leader";
export const MANAGER_DEPLOYMENT = "patchbay-controller-manager";
/**
 * Reconciles in flight per controller. Each is a short sequence of writes (reads come from caches), so a
 * few in parallel hide the API server's latency; this bound, with the work queue's per-key exclusivity, is
 * also the client-side pacing: at most this many requests per controller in flight, none at rest.
 */
export const DEFAULT_RECONCILE_WORKERS = 4;

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  /** Watch one namespace; undefined watches all. */
  watchNamespace?: string;
  /** Patchbay's own namespace: the Lease and the Deployment sidecars join live there. */
  podNamespace: string;
  /** Unique among replicas, e.g. the pod name. */
  identity: string;
  ingress: { host: string; port: number; tokens?: string[]; allowAnonymous?: boolean };
  management: { host: string; port: number };
  leaderElection?: { leaseDurationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number };
  /** Workers per controller (DEFAULT_RECONCILE_WORKERS). */
  reconcileWorkers?: number;
  /**
   * Patchbay's own Deployment, which sidecar plugins join. Unset when Patchbay does not run in the
   * cluster (e.g. `patchbay operator` from a laptop's KUBECONFIG): sidecars are then refused rather
   * than added to a Deployment this process is not part of.
   */
  managerDeployment?: ManagerDeploymentRef;
  /** See PluginTargetsOptions.resolveEndpoint. */
  resolveEndpoint?: (plugin: PluginObject, endpoint: string) => string;
  hubTimings?: Partial<ConnectionTimings>;
  log?: Logger;
  /** Where log Notifiers write; default stdout. */
  logStream?: Writable;
  /**
   * A NATS JetStream URL (PATCHBAY_EVENT_BUS): every replica's ingress stores events there and every
   * replica pulls from the notifiers' durable consumers; unset, each replica holds its events in memory.
   */
  eventBus?: string;
  /** The cluster's name (PATCHBAY_CLUSTER_NAME), shown in every notification. */
  clusterName?: string;
}

export interface RunningOperator {
  readonly dataPlane: DataPlane;
  readonly manager: Manager;
  readonly isLeader: boolean;
  /** Keeps this replica's data plane in line with the cluster, leading or not. */
  readonly sync: DataPlaneSync;
  /** Releases the Lease, stops the controllers, then drains the data plane within the deadline. */
  stop(drainMs?: number): Promise<void>;
}

export async function startOperator(options: OperatorOptions): Promise<RunningOperator> {
  const log = options.log ?? createLogger("patchbay");
  const { watchNamespace } = options;
  const kubeConfig = reuseConnections(options.kubeConfig);
  // Reconciles run only while leading; one still under way when leadership is lost writes nothing more.
  const cluster = new Cluster(kubeConfig, { mayWrite: () => manager.isLeader });
  const dataPlane: DataPlane = new DataPlane({
    ingress: options.ingress,
    management: options.management,
    secrets: new KubernetesSecretResolver(cluster),
    log,
    logStream: options.logStream,
    hubTimings: options.hubTimings,
    // Streams are consumed only while leading (see below); with a bus they resume from its last id.
    streams: false,
    eventBus: options.eventBus,
    clusterName: options.clusterName,
    // Called only once serving, after the manager and the sync below exist.
    readinessChecks: { informers: () => manager.readiness(), dataPlane: () => sync.readiness() },
  });
  const manager: Manager = new Manager({
    kubeConfig,
    registry: dataPlane.registry,
    log: log.child({ component: "manager" }),
    leaderElection: {
      namespace: options.podNamespace,
      name: LEASE_NAME,
      identity: options.identity,
      ...options.leaderElection,
    },
  });

  const recorder = new EventRecorder({
    kubeConfig,
    component: "patchbay-operator",
    log,
    mayRecord: () => manager.isLeader,
  });
  const informer = <T extends KubernetesObject>(plural: string, labelSelector?: string) => {
    const list = () => cluster.listCustom<T>(plural, watchNamespace) as Promise<KubernetesListObject<T>>;
    return new ResourceInformer<T>({
      kubeConfig,
      path: customPath(plural, watchNamespace),
      list,
      labelSelector,
      log,
    });
  };
  const sources = informer<PluginObject>("sourceplugins");
  const executors = informer<PluginObject>("executorplugins");
  const notifiers = informer<NotifierObject>("notifiers");
  const actions = informer<ActionObject>("actions");
  const managerDeployment = options.managerDeployment;
  const owned = new OwnedObjects(kubeConfig, watchNamespace, log);
  const deployments = owned.informers.Deployment as ResourceInformer<V1Deployment>;
  // Patchbay's own Deployment, so a sidecar container taken out of it (by hand, by another tool) is put back.
  const ownDeployment =
    managerDeployment &&
    deploymentInformer(
      kubeConfig,
      managerDeployment.namespace,
      Object.entries(MANAGER_POD_LABELS)
        .map(([key, value]) => `${key}=${value}`)
        .join(","),
      log,
    );

  const sync = new DataPlaneSync({
    sources,
    executors,
    notifiers,
    deployments,
    dataPlane,
    targets: new PluginTargets({
      cluster,
      resolveEndpoint: options.resolveEndpoint,
      managerNamespace: options.podNamespace,
      sidecarsJoinManager: managerDeployment !== undefined,
    }),
    log,
  });
  // Every replica runs the Actions (each has an ingress); only the leader writes their status.
  const actionSync = new ActionSync({ informer: actions, dataPlane, log });
  const pluginControllers = (["source", "executor"] as const).map((kind) => {
    const informer = kind === "source" ? sources : executors;
    const ownerKind = kind === "source" ? "SourcePlugin" : "ExecutorPlugin";
    const controller = new Controller({
      name: `${kind}plugin`,
      reconciler: new PluginReconciler({
        kind,
        informer,
        cluster,
        owned,
        hub: dataPlane.hub,
        sync,
        recorder,
        log,
        managerDeployment,
        managerNamespace: options.podNamespace,
      }),
      registry: dataPlane.registry,
      maxConcurrentReconciles: options.reconcileWorkers ?? DEFAULT_RECONCILE_WORKERS,
      log,
    });
    controller.watch(informer, undefined, { updateMatters: specOrMetadataChanged });
    for (const workloadKind of WORKLOAD_KINDS) {
      controller.watch(owned.informers[workloadKind], (object) => controllerOwnerKeys(object, ownerKind));
    }
    if (ownDeployment && managerDeployment) {
      controller.watch(ownDeployment, (deployment) =>
        deployment.metadata?.name === managerDeployment.name
          ? sidecarKeys(informer, managerDeployment.namespace)
          : [],
      );
    }
    return controller;
  });
  const controllers = {
    source: pluginControllers[0]!,
    executor: pluginControllers[1]!,
    notifier: new Controller({
      name: "notifier",
      reconciler: new NotifierReconciler({ informer: notifiers, cluster, sync, recorder, log }),
      registry: dataPlane.registry,
      maxConcurrentReconciles: options.reconcileWorkers ?? DEFAULT_RECONCILE_WORKERS,
      log,
    }).watch(notifiers, undefined, { updateMatters: specOrMetadataChanged }),
    action: new Controller({
      name: "action",
      reconciler: new ActionReconciler({
        informer: actions,
        executors: executors as unknown as ResourceInformer<KubernetesObject>,
        cluster,
        sync: actionSync,
        recorder,
        log,
      }),
      registry: dataPlane.registry,
      maxConcurrentReconciles: options.reconcileWorkers ?? DEFAULT_RECONCILE_WORKERS,
      log,
    })
      .watch(actions, undefined, { updateMatters: specOrMetadataChanged })
      // Only a creation or deletion changes whether an executor exists.
      .watch(executors, (executor) => actionsUsing(actions, executor), { updateMatters: () => false }),
  };

  // Enqueueing is ignored while a controller is not running, i.e. on a replica that does not lead. Only a
  // change the status would show is worth a reconcile: an unreachable plugin reports every retry.
  const shownStates = new Map<string, string>();
  dataPlane.hub.on("state", (state) => {
    const shown = JSON.stringify(statusShownOf(state));
    const id = `${state.kind}/${state.name}`;
    const key = sync.owner(state.kind, state.name);
    // A plugin no longer owned by any resource is forgotten, so the map holds only live plugins.
    if (!key) return void shownStates.delete(id);
    if (shownStates.get(id) === shown) return;
    shownStates.set(id, shown);
    controllers[state.kind].enqueue(key);
  });
  sync.on("changed", (kind, key) => controllers[kind].enqueue(key));

  manager.add(sync);
  manager.add(actionSync);
  for (const controller of Object.values(controllers)) manager.add(controller);
  manager.add({
    // Runs only while leading: the leader alone consumes source streams.
    start: async (signal) => {
      if (signal.aborted) return;
      dataPlane.hub.setStreaming(true);
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
      dataPlane.hub.setStreaming(false);
      log.info("not leading: source streams stopped");
    },
  });

  await dataPlane.start();
  const abort = new AbortController();
  const running = manager.start(abort.signal).catch((error: unknown) => {
    log.error("manager stopped with an error", { error: String(error) });
  });
  log.info("patchbay operator is running", {
    identity: options.identity,
    watchNamespace: watchNamespace ?? "(all)",
    ingress: dataPlane.ingressUrl,
    management: dataPlane.managementUrl,
  });

  let stopping: Promise<void> | undefined;
  return {
    dataPlane,
    manager,
    sync,
    get isLeader() {
      return manager.isLeader;
    },
    stop(drainMs = 10_000) {
      stopping ??= (async () => {
        abort.abort();
        await running;
        await dataPlane.stop(drainMs);
      })();
      return stopping;
    },
  };
}

function customPath(plural: string, namespace: string | undefined): string {
  return `/apis/patchbay.dev/v1alpha1${namespace ? `/namespaces/${namespace}` : ""}/${plural}`;
}

/** Deployments with these labels, e.g. pod-mode plugins', so one becoming available reconciles its plugin. */
function deploymentInformer(
  kubeConfig: KubeConfig,
  namespace: string | undefined,
  labelSelector: string,
  log: Logger,
) {
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  return new ResourceInformer<V1Deployment>({
    kubeConfig,
    path: `/apis/apps/v1${namespace ? `/namespaces/${namespace}` : ""}/deployments`,
    labelSelector,
    list: () =>
      (namespace
        ? apps.listNamespacedDeployment({ namespace, labelSelector })
        : apps.listDeploymentForAllNamespaces({ labelSelector })) as Promise<
        KubernetesListObject<V1Deployment>
      >,
    log,
  });
}

/** The plugins of one kind that are sidecars of Patchbay's Deployment (only its namespace's may be). */
function sidecarKeys(informer: ResourceInformer<PluginObject>, namespace: string): ObjectKey[] {
  return informer
    .list()
    .filter((plugin) => plugin.spec?.runtime?.sidecar && plugin.metadata.namespace === namespace)
    .map(keyOf);
}

/**
 * Reads the environment the manager Deployment sets (POD_NAMESPACE, POD_NAME, PATCHBAY_WATCH_NAMESPACE,
 * PATCHBAY_INGRESS_TOKENS[_SECRET], PATCHBAY_EVENT_BUS and its credentials, PATCHBAY_CLUSTER_NAME; PATCHBAY_HOST and
 * PATCHBAY_*_PORT for local runs), then runs until SIGTERM/SIGINT.
 */
export async function runOperator(): Promise<void> {
  const log = createLogger("patchbay");
  // A malformed name stops the start with the reason, before the cluster is contacted.
  const clusterName = clusterNameOf(process.env.PATCHBAY_CLUSTER_NAME, "PATCHBAY_CLUSTER_NAME");
  // Stops here, with the reason, when the kubeconfig, the cluster or the CRDs are not there.
  const kubeConfig = loadKubeConfig();
  await checkCluster(kubeConfig, startupTimeoutMs());
  const podNamespace =
    process.env.POD_NAMESPACE ??
    kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace ??
    "patchbay-system";
  const cluster = new Cluster(kubeConfig);
  const operator = await startOperator({
    kubeConfig,
    watchNamespace: process.env.PATCHBAY_WATCH_NAMESPACE || undefined,
    podNamespace,
    // The manager Deployment sets POD_NAMESPACE; without it this process is not one of its Pods.
    managerDeployment: process.env.POD_NAMESPACE
      ? { namespace: process.env.POD_NAMESPACE, name: MANAGER_DEPLOYMENT }
      : undefined,
    identity: uniqueIdentity(process.env.POD_NAME || hostname()),
    leaderElection: leaderElectionTimings(process.env),
    reconcileWorkers: reconcileWorkers(process.env),
    ingress: {
      host: process.env.PATCHBAY_HOST ?? "0.0.0.0",
      port: Number(process.env.PATCHBAY_INGRESS_PORT ?? 8080),
      tokens: await ingressTokens(cluster, podNamespace, process.env, log),
      // Without tokens the operator refuses /events, /sources and /commands unless told otherwise.
      allowAnonymous: process.env.PATCHBAY_INGRESS_ALLOW_ANONYMOUS === "true",
    },
    management: {
      host: process.env.PATCHBAY_HOST ?? "0.0.0.0",
      port: Number(process.env.PATCHBAY_MANAGEMENT_PORT ?? 8081),
    },
    // Credentials come from PATCHBAY_EVENT_BUS_USER/_PASSWORD/_TOKEN/_CREDS (a Secret), read by the bus.
    eventBus: process.env.PATCHBAY_EVENT_BUS || undefined,
    clusterName,
    log,
  });
  await new Promise<void>((resolve) => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => resolve());
  });
  log.info("shutting down: releasing the lease and draining notifier queues");
  await operator.stop(Number(process.env.PATCHBAY_DRAIN_MS ?? 20_000));
  log.info("stopped");
}

/**
 * Lease timings from PATCHBAY_LEASE_DURATION_SECONDS, PATCHBAY_RENEW_DEADLINE_SECONDS and
 * PATCHBAY_RETRY_PERIOD_SECONDS (controller-runtime's defaults, 15/10/2, when unset). A bad value stops
 * the start with a message naming it, rather than an election that never settles.
 */
export function leaderElectionTimings(env: NodeJS.ProcessEnv): OperatorOptions["leaderElection"] {
  const seconds = (name: string): number | undefined => {
    const text = env[name];
    if (text === undefined || text === "") return undefined;
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0) {
      throw new Error(`${name} must be a positive number of seconds, not ${JSON.stringify(text)}`);
    }
    return value * 1000;
  };
  return {
    leaseDurationMs: seconds("PATCHBAY_LEASE_DURATION_SECONDS"),
    renewDeadlineMs: seconds("PATCHBAY_RENEW_DEADLINE_SECONDS"),
    retryPeriodMs: seconds("PATCHBAY_RETRY_PERIOD_SECONDS"),
  };
}

/** PATCHBAY_RECONCILE_WORKERS: reconciles in flight per controller (DEFAULT_RECONCILE_WORKERS). */
export function reconcileWorkers(env: NodeJS.ProcessEnv): number | undefined {
  const text = env.PATCHBAY_RECONCILE_WORKERS;
  if (text === undefined || text === "") return undefined;
  const workers = Number(text);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    throw new Error(
      `PATCHBAY_RECONCILE_WORKERS must be a whole number from 1 to 64, not ${JSON.stringify(text)}`,
    );
  }
  return workers;
}

/**
 * Bearer tokens for the ingress: PATCHBAY_INGRESS_TOKENS, and key `tokens` of the Secret
 * PATCHBAY_INGRESS_TOKENS_SECRET. A Secret named there that does not exist is created with one random
 * token (the kustomize install names one, and cannot generate the value itself): every replica tries,
 * the first creation wins and the others read what it wrote.
 */
export async function ingressTokens(
  cluster: Pick<Cluster, "readSecret" | "createSecret">,
  namespace: string,
  env: NodeJS.ProcessEnv = process.env,
  log?: Logger,
): Promise<string[]> {
  let text = env.PATCHBAY_INGRESS_TOKENS ?? "";
  const secretName = env.PATCHBAY_INGRESS_TOKENS_SECRET;
  if (secretName) {
    let secret = await cluster.readSecret(namespace, secretName);
    if (!secret) {
      const created = await cluster.createSecret(newIngressTokenSecret(namespace, secretName));
      if (created) {
        log?.info(
          `created the Secret ${namespace}/${secretName} with a random ingress token; read it with: kubectl get secret -n ${namespace} ${secretName} -o jsonpath='{.data.tokens}' | base64 -d`,
        );
      }
      secret = created ?? (await cluster.readSecret(namespace, secretName));
    }
    if (!secret)
      throw new Error(
        `PATCHBAY_INGRESS_TOKENS_SECRET: Secret ${namespace}/${secretName} not found, and creating it failed`,
      );
    const encoded = secret.data?.tokens;
    if (!encoded)
      throw new Error(
        `PATCHBAY_INGRESS_TOKENS_SECRET: Secret ${namespace}/${secretName} has no key 'tokens'`,
      );
    text += `,${Buffer.from(encoded, "base64").toString("utf8")}`;
  }
  return text
    .split(/[,\n]/)
    .map((token) => token.trim())
    .filter(Boolean);
}
