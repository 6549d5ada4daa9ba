/**
 * Keeps this replica's data plane in line with the cluster, on every replica, leader or not: which
 * sources exist (and their labels), which executors serve which prefixes, which notifiers deliver,
 * and where the hub reaches each plugin. Every replica serves the ingress, so every replica needs all
 * of it; it is computed from the shared informers' caches alone, so every replica computes the same.
 * Writing to the cluster (workloads, finalizers, status, Events) is the leader's reconcilers' job.
 */
import { EventEmitter } from "node:events";
import { isDeepStrictEqual } from "node:util";
import type { KubernetesObject, V1Deployment } from "@kubernetes/client-node";
import { validateNotifierSpec, type ExecutorPlugin } from "../api/v1alpha1/index.ts";
import type { DataPlane } from "../app/index.ts";
import {
  keyOf,
  keyToString,
  type ObjectKey,
  type ResourceInformer,
  type Runnable,
} from "../controller/index.ts";
import type { PluginKindName, PluginTarget } from "../hub/index.ts";
import type { Logger } from "../observability/logger.ts";
import { clusterClaims, oldestFirst, qualifiedName, type LostClaim } from "./conflicts.ts";
import { KIND_LABEL, workloadName } from "./names.ts";
import { isContender, specProblems } from "./plugin-spec.ts";
import type { DerivedTarget, PluginTargets, TargetProblem } from "./plugin-targets.ts";
import type { NotifierObject, PluginObject } from "./resources.ts";
import { SerialRunner } from "./serial.ts";
import { pluginKindOf } from "./workloads.ts";

const DEFAULT_TIMEOUT_SECONDS = 30;
/** A Secret a notifier needs may appear later: look again after this long. */
const DEFAULT_NOTIFIER_RETRY_MS = 30_000;

export type SyncedKind = PluginKindName | "notifier";

/** What this replica's data plane made of one valid plugin CR. */
export interface PluginPlacement {
  key: ObjectKey;
  /** Where the hub dials it, from the spec; undefined for a runtime a cluster cannot run. */
  endpoint?: string;
  /** A name or prefix an older plugin holds: then it is not handed to the hub. */
  lostClaim?: LostClaim;
  /** Handed to the hub under its name. */
  registered: boolean;
  /** Registered without an address for this reason (e.g. its TLS Secret is unusable). */
  problem?: TargetProblem;
}

/** Why a Notifier is not delivering. */
export interface NotifierVerdict {
  reason: "InvalidSpec" | "NameConflict" | "ConfigInvalid";
  message: string;
}

export interface DataPlaneSyncOptions {
  sources: ResourceInformer<PluginObject>;
  executors: ResourceInformer<PluginObject>;
  notifiers: ResourceInformer<NotifierObject>;
  /** Pod-mode plugin Deployments: a plugin gets its address once its Deployment is available. */
  deployments: ResourceInformer<V1Deployment>;
  dataPlane: Pick<DataPlane, "hub" | "setSources" | "setExecutors" | "setNotifiers">;
  targets: PluginTargets;
  log: Logger;
  /** How soon notifiers that failed to apply (e.g. a missing Secret) are tried again; default 30 s. */
  notifierRetryMs?: number;
}

interface PluginKindState {
  runner: SerialRunner<void>;
  /** By CR key (namespace/name). */
  placements: Map<string, PluginPlacement>;
  /** Hub name → the CR served under it. */
  owners: Map<string, ObjectKey>;
}

/**
 * A Manager runnable that needs no leader election. Emits "changed" with the kind and key of every
 * object whose placement or verdict changed, so the leader can reconcile its status.
 */
export class DataPlaneSync
  extends EventEmitter<{ changed: [kind: SyncedKind, key: ObjectKey] }>
  implements Runnable
{
  readonly needLeaderElection = false;
  readonly #options: DataPlaneSyncOptions;
  readonly #log: Logger;
  readonly #plugins: Record<PluginKindName, PluginKindState>;
  readonly #notifierRunner: SerialRunner<Map<string, NotifierVerdict>>;
  #notifierVerdicts = new Map<string, NotifierVerdict>();
  #notifierRetry: NodeJS.Timeout | undefined;
  /** Kinds not yet applied once: until then this replica's ingress would refuse what it should take. */
  readonly #unsynced = new Set<SyncedKind>(["source", "executor", "notifier"]);
  #stopped = false;
  readonly #derivedTargets = new WeakMap<
    PluginObject,
    { deployment: V1Deployment | undefined; derived: DerivedTarget }
  >();

  constructor(options: DataPlaneSyncOptions) {
    super();
    this.#options = options;
    this.#log = options.log.child({ component: "data-plane-sync" });
    const kindState = (kind: PluginKindName): PluginKindState => ({
      runner: new SerialRunner(() => this.#syncPlugins(kind)),
      placements: new Map(),
      owners: new Map(),
    });
    this.#plugins = { source: kindState("source"), executor: kindState("executor") };
    this.#notifierRunner = new SerialRunner(() => this.#syncNotifiers());
  }

  get informers(): ResourceInformer<KubernetesObject>[] {
    const { sources, executors, notifiers, deployments } = this.#options;
    return [sources, executors, notifiers, deployments] as unknown as ResourceInformer<KubernetesObject>[];
  }

  /** Follows the informers from their first sync until `signal` aborts. */
  async start(signal: AbortSignal): Promise<void> {
    const { sources, executors, notifiers, deployments } = this.#options;
    const aborted = new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener("abort", () => resolve(), { once: true });
    });
    // The manager stops the informers only after this returns: do not wait for a sync that never comes.
    await Promise.race([Promise.all(this.informers.map((informer) => informer.start())), aborted]);
    if (!signal.aborted) {
      const unsubscribe = [
        follow(sources, () => this.#request(() => this.syncPlugins("source"))),
        follow(executors, () => this.#request(() => this.syncPlugins("executor"))),
        follow(notifiers, () => this.#request(() => this.syncNotifiers())),
        follow(deployments, (deployment) => {
          const kind = deployment.metadata?.labels?.[KIND_LABEL];
          for (const each of ["source", "executor"] as const)
            if (kind === undefined || kind === each) this.#request(() => this.syncPlugins(each));
        }),
      ];
      this.#request(() => this.syncPlugins("source"));
      this.#request(() => this.syncPlugins("executor"));
      this.#request(() => this.syncNotifiers());
      await aborted;
      for (const stop of unsubscribe) stop();
    }
    this.#stopped = true;
    clearTimeout(this.#notifierRetry);
    // Let a sync in progress finish, so nothing touches the data plane once this has stopped.
    await Promise.allSettled([
      this.#plugins.source.runner.run(),
      this.#plugins.executor.runner.run(),
      this.#notifierRunner.run(),
    ]);
  }

  /** Brings the hub and the plugin directories in line with the cache; resolves once applied. */
  syncPlugins(kind: PluginKindName): Promise<void> {
    return this.#plugins[kind].runner.run();
  }

  /** Applies the notifiers in the cache; resolves with the verdict on each one not delivering. */
  syncNotifiers(): Promise<Map<string, NotifierVerdict>> {
    return this.#notifierRunner.run();
  }

  /** For /readyz: undefined once sources, executors and notifiers have each been applied once. */
  readiness(): string | undefined {
    if (this.#unsynced.size === 0) return undefined;
    return `the data plane has not yet applied: ${[...this.#unsynced].join(", ")}`;
  }

  /** What the last sync made of this plugin; undefined when its spec is invalid or it is gone. */
  placement(kind: PluginKindName, key: ObjectKey): PluginPlacement | undefined {
    return this.#plugins[kind].placements.get(keyToString(key));
  }

  /** The CR the hub serves under this name. */
  owner(kind: PluginKindName, hubName: string): ObjectKey | undefined {
    return this.#plugins[kind].owners.get(hubName);
  }

  /** Why the last sync did not deliver to this notifier; undefined when it delivers. */
  notifierVerdict(key: ObjectKey): NotifierVerdict | undefined {
    return this.#notifierVerdicts.get(keyToString(key));
  }

  #request(sync: () => Promise<unknown>): void {
    sync().catch((error: unknown) =>
      this.#log.error("data plane sync failed", {
        error: error instanceof Error ? error.message : String(error),
      }),
    );
  }

  async #syncPlugins(kind: PluginKindName): Promise<void> {
    if (this.#stopped) return;
    const informer = kind === "source" ? this.#options.sources : this.#options.executors;
    const all = informer.list();
    const claims = clusterClaims(all);
    const placements = new Map<string, PluginPlacement>();
    const served: PluginObject[] = [];
    const targets: PluginTarget[] = [];
    for (const plugin of all) {
      if (plugin.metadata.deletionTimestamp || specProblems(plugin).length > 0) continue;
      const key = keyOf(plugin);
      const lostClaim = claims.get(qualifiedName(plugin));
      const placement: PluginPlacement = {
        key,
        endpoint: this.#options.targets.endpoint(plugin),
        lostClaim,
        registered: false,
      };
      placements.set(keyToString(key), placement);
      if (!isContender(plugin) || lostClaim) continue;
      const derived = await this.#derive(plugin);
      placement.registered = true;
      placement.problem = derived.problem;
      served.push(plugin);
      targets.push(derived.target);
    }
    if (this.#stopped) return;

    const state = this.#plugins[kind];
    const { hub } = this.#options.dataPlane;
    const owners = new Map(served.map((plugin) => [plugin.metadata.name, keyOf(plugin)]));
    for (const name of state.owners.keys()) if (!owners.has(name)) hub.remove(kind, name);
    for (const target of targets) hub.upsert(target);
    state.owners = owners;
    this.#options.targets.retain(kind, served);
    this.#setDirectory(kind, served);
    this.#unsynced.delete(kind);

    const previous = state.placements;
    state.placements = placements;
    for (const key of new Set([...previous.keys(), ...placements.keys()])) {
      const before = previous.get(key);
      const after = placements.get(key);
      if (!isDeepStrictEqual(before, after)) this.emit("changed", kind, (after ?? before)!.key);
    }
  }

  #setDirectory(kind: PluginKindName, served: readonly PluginObject[]): void {
    if (kind === "source") {
      this.#options.dataPlane.setSources(
        served.map((plugin) => ({ name: plugin.metadata.name, labels: plugin.metadata.labels ?? {} })),
      );
      return;
    }
    this.#options.dataPlane.setExecutors(
      (served as ExecutorPlugin[]).map((plugin) => ({
        name: plugin.metadata.name,
        prefixes: plugin.spec.prefixes,
        aliases: plugin.spec.aliases ?? {},
        timeoutMs: (plugin.spec.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
      })),
    );
  }

  /**
   * The hub target for a plugin, reused while neither the cached plugin object nor its Deployment was
   * replaced: every sync derives every plugin's target, and the hub leaves an identical target object
   * alone without comparing it. TLS material is read from a Secret each time, so it is not reused.
   */
  async #derive(plugin: PluginObject): Promise<DerivedTarget> {
    const deployment = this.#deploymentOf(plugin);
    const cached = this.#derivedTargets.get(plugin);
    if (cached && cached.deployment === deployment) return cached.derived;
    const derived = await this.#options.targets.derive(plugin, deployment);
    if (!plugin.spec.runtime.external?.tls) this.#derivedTargets.set(plugin, { deployment, derived });
    return derived;
  }

  #deploymentOf(plugin: PluginObject): V1Deployment | undefined {
    if (!plugin.spec.runtime.pod) return undefined;
    return this.#options.deployments.get({
      namespace: plugin.metadata.namespace ?? "default",
      name: workloadName(pluginKindOf(plugin), plugin.metadata.name),
    });
  }

  async #syncNotifiers(): Promise<Map<string, NotifierVerdict>> {
    if (this.#stopped) return this.#notifierVerdicts;
    const all = oldestFirst(
      this.#options.notifiers.list().filter((notifier) => !notifier.metadata.deletionTimestamp),
    );
    const verdicts = new Map<string, NotifierVerdict>();
    const byName = new Map<string, NotifierObject>();
    for (const notifier of all) {
      const name = notifier.metadata.name;
      const problems = validateNotifierSpec(notifier.spec);
      const holder = byName.get(name);
      if (problems.length > 0) {
        verdicts.set(qualifiedName(notifier), { reason: "InvalidSpec", message: problems.join("; ") });
      } else if (holder) {
        verdicts.set(qualifiedName(notifier), {
          reason: "NameConflict",
          message: `Notifier ${qualifiedName(holder)} already uses the name '${name}'; notifier names must be unique across the watched namespaces`,
        });
      } else byName.set(name, notifier);
    }
    let problems;
    try {
      problems = await this.#options.dataPlane.setNotifiers([...byName.values()]);
    } catch (error) {
      // The data plane kept the notifiers it had: report why none of these took effect.
      const message = `the notifiers could not be applied: ${(error as Error).message}`;
      problems = [...byName.keys()].map((name) => ({ name, message }));
    }
    for (const problem of problems) {
      const notifier = byName.get(problem.name);
      if (notifier)
        verdicts.set(qualifiedName(notifier), { reason: "ConfigInvalid", message: problem.message });
    }

    this.#unsynced.delete("notifier");
    const previous = this.#notifierVerdicts;
    this.#notifierVerdicts = verdicts;
    for (const notifier of all) {
      const key = qualifiedName(notifier);
      if (!isDeepStrictEqual(previous.get(key), verdicts.get(key)))
        this.emit("changed", "notifier", keyOf(notifier));
    }
    clearTimeout(this.#notifierRetry);
    if (!this.#stopped && [...verdicts.values()].some((verdict) => verdict.reason === "ConfigInvalid")) {
      this.#notifierRetry = setTimeout(
        () => this.#request(() => this.syncNotifiers()),
        this.#options.notifierRetryMs ?? DEFAULT_NOTIFIER_RETRY_MS,
      ).unref();
    }
    return verdicts;
  }
}

/** Calls `onChange` with every object the informer adds, updates or deletes; returns the unsubscribe. */
function follow<T extends KubernetesObject>(
  informer: ResourceInformer<T>,
  onChange: (obj: T) => void,
): () => void {
  const onUpdate = (_old: T, obj: T) => onChange(obj);
  informer.on("add", onChange);
  informer.on("update", onUpdate);
  informer.on("delete", onChange);
  return () => {
    informer.off("add", onChange);
    informer.off("update", onUpdate);
    informer.off("delete", onChange);
  };
}
