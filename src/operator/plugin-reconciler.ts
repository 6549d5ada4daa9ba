/**
 * Reconciles SourcePlugins or ExecutorPlugins: validate the spec, make the workload its runtime mode
 * needs, hand the plugin to the hub (a config change is an upsert: live, no restart), tell the data
 * plane which sources and executors exist, and report it all as status conditions.
 */
import type { ChannelCredentials } from "@grpc/grpc-js";
import type { KubernetesObject, V1Container, V1Deployment } from "@kubernetes/client-node";
import {
  runtimeMode,
  validateExecutorSpec,
  validateSourceSpec,
  type ExecutorPlugin,
  type PluginResource,
  type PluginStatus,
  type RuntimeMode,
} from "../api/v1alpha1/index.ts";
import type { DataPlane } from "../app/index.ts";
import {
  keyOf,
  keyToString,
  type EventRecorder,
  type ObjectKey,
  type Reconciler,
  type ReconcileResult,
  type ResourceInformer,
} from "../controller/index.ts";
import type { PluginKindName } from "../hub/index.ts";
import type { Logger } from "../observability/logger.ts";
import { apiMessage, statusCode, type Cluster, type WorkloadKind } from "./cluster.ts";
import { lostClaims, qualifiedName, type LostClaim } from "./conflicts.ts";
import { matchesDesired } from "./match.ts";
import { FINALIZER, workloadName } from "./names.ts";
import {
  deploymentVerdict,
  executorConditions,
  markPluginConditions,
  READY,
  sourceConditions,
  type PluginObservation,
  type Verdict,
} from "./plugin-status.ts";
import { externalTlsCredentials, type TlsMaterial } from "./secrets.ts";
import { removeContainerPatch, upsertContainerPatch } from "./sidecars.ts";
import type { PluginObject } from "./resources.ts";
import { writeStatus } from "./status-writer.ts";
import { podWorkload, sidecarContainer } from "./workloads.ts";

const DEFAULT_TIMEOUT_SECONDS = 30;

export interface ManagerDeploymentRef {
  namespace: string;
  name: string;
}

export interface PluginReconcilerOptions {
  kind: PluginKindName;
  informer: ResourceInformer<PluginObject>;
  cluster: Cluster;
  dataPlane: Pick<DataPlane, "hub" | "setSources" | "setExecutors">;
  recorder: Pick<EventRecorder, "event">;
  log: Logger;
  /** Patchbay's own Deployment, which sidecar plugins join; undefined when unknown. */
  managerDeployment?: ManagerDeploymentRef;
  /** Where the hub dials a plugin, given the endpoint its runtime implies (tests point it at a local process). */
  resolveEndpoint?: (plugin: PluginObject, endpoint: string) => string;
}

interface Registration {
  key: ObjectKey;
  plugin: PluginObject;
}

interface WorkloadOutcome {
  verdict: Verdict;
  endpoint?: string;
  /** False: the hub gets no address yet (the plugin would not answer). */
  reachable: boolean;
  credentials?: ChannelCredentials;
}

export class PluginReconciler implements Reconciler {
  readonly kind: PluginKindName;
  readonly plural: string;
  readonly #options: PluginReconcilerOptions;
  readonly #log: Logger;
  /** Hub name → the CR registered under it. */
  readonly #registered = new Map<string, Registration>();
  readonly #tls = new Map<string, TlsMaterial>();
  #claims = new Map<string, LostClaim>();
  #requeue: (key: ObjectKey) => void = () => {};

  constructor(options: PluginReconcilerOptions) {
    this.#options = options;
    this.kind = options.kind;
    this.plural = options.kind === "source" ? "sourceplugins" : "executorplugins";
    this.#log = options.log.child({ reconciler: this.plural });
  }

  /** How to reconcile another plugin whose claims changed because of this one (the controller's enqueue). */
  onRequeue(requeue: (key: ObjectKey) => void): void {
    this.#requeue = requeue;
  }

  /** The CR the hub knows by this name, so a hub state change can be reconciled into its status. */
  ownerOf(hubName: string): ObjectKey | undefined {
    return this.#registered.get(hubName)?.key;
  }

  /** Leadership ended: the hub drops every plugin of this kind and the data plane forgets them. */
  forgetAll(): void {
    for (const name of this.#registered.keys()) this.#options.dataPlane.hub.remove(this.kind, name);
    this.#registered.clear();
    this.#claims.clear();
    this.#syncDirectory();
  }

  async reconcile(key: ObjectKey): Promise<ReconcileResult | void> {
    const plugin = this.#options.informer.get(key);
    if (!plugin) {
      this.#unregister(key);
      this.#updateClaims();
      this.#syncDirectory();
      return;
    }
    if (plugin.metadata.deletionTimestamp) return this.#finalize(plugin, key);

    const problems = this.#validate(plugin);
    const mode = problems.length === 0 ? runtimeMode(plugin.spec.runtime) : undefined;
    const suspended = plugin.spec?.suspend === true;
    const observation: PluginObservation = {
      specProblems: problems,
      mode,
      suspended,
      workload: { status: "Unknown", reason: "InvalidSpec", message: problems.join("; ") },
      executor: this.kind === "executor",
    };
    let endpoint: string | undefined;
    if (problems.length > 0) {
      this.#unregister(key);
    } else {
      await this.#cleanUpOtherModes(plugin, mode!);
      const outcome = await this.#ensureWorkload(plugin, mode!, suspended);
      observation.workload = outcome.verdict;
      endpoint = outcome.endpoint;
      observation.lostClaim = this.#updateClaims().get(qualifiedName(plugin));
      const eligible = !suspended && outcome.endpoint !== undefined && observation.lostClaim === undefined;
      if (eligible) this.#register(plugin, key, outcome);
      else this.#unregister(key);
    }
    this.#syncDirectory();
    const registered = this.#registered.get(plugin.metadata.name)?.key;
    if (registered && keyToString(registered) === keyToString(key)) {
      observation.hub = this.#options.dataPlane.hub.state(this.kind, plugin.metadata.name);
    }
    return this.#writeStatus(plugin, observation, endpoint);
  }

  #validate(plugin: PluginObject): string[] {
    return this.kind === "source"
      ? validateSourceSpec(plugin.spec)
      : validateExecutorSpec((plugin as ExecutorPlugin).spec);
  }

  async #ensureWorkload(
    plugin: PluginObject,
    mode: RuntimeMode,
    suspended: boolean,
  ): Promise<WorkloadOutcome> {
    const runtime = plugin.spec.runtime;
    const resolve = (endpoint: string) => this.#options.resolveEndpoint?.(plugin, endpoint) ?? endpoint;
    if (mode === "pod") {
      const workload = podWorkload(plugin, runtime.pod!);
      if (suspended) workload.deployment.spec!.replicas = 0;
      if (workload.serviceAccount) await this.#apply(plugin, "ServiceAccount", workload.serviceAccount);
      await this.#apply(plugin, "Service", workload.service);
      const deployment = await this.#apply(plugin, "Deployment", workload.deployment);
      const verdict = deploymentVerdict(deployment, suspended);
      return { verdict, endpoint: resolve(workload.endpoint), reachable: verdict.status === "True" };
    }
    if (mode === "sidecar") {
      const { container, endpoint } = sidecarContainer(plugin, runtime.sidecar!);
      const verdict = await this.#ensureSidecar(plugin, container, suspended);
      return {
        verdict,
        endpoint: verdict.status === "True" ? resolve(endpoint) : undefined,
        reachable: true,
      };
    }
    if (mode === "external") {
      const external = runtime.external!;
      const verdict: Verdict = {
        status: "True",
        reason: "ExternalAddress",
        message: `served at ${external.address}`,
      };
      if (!external.tls) return { verdict, endpoint: resolve(external.address), reachable: true };
      try {
        const credentials = await this.#credentials(plugin, external.tls);
        return { verdict, endpoint: resolve(external.address), reachable: true, credentials };
      } catch (error) {
        return {
          verdict: { status: "False", reason: "TLSUnavailable", message: (error as Error).message },
          reachable: false,
        };
      }
    }
    return {
      verdict: {
        status: "False",
        reason: "UnsupportedRuntime",
        message:
          "the process runtime starts plugins as child processes of `patchbay local`; in a cluster use pod, sidecar or external",
      },
      reachable: false,
    };
  }

  /** Creates the object, or merge-patches it when it differs; refuses to adopt one another owner holds. */
  async #apply<T extends KubernetesObject>(plugin: PluginObject, kind: WorkloadKind, desired: T): Promise<T> {
    const { cluster } = this.#options;
    const namespace = desired.metadata!.namespace!;
    const name = desired.metadata!.name!;
    const live = await cluster.read<never>(kind, namespace, name);
    if (!live) {
      const created = await cluster.create(kind, desired as never);
      await this.#options.recorder.event(plugin, "Normal", "Created", `created ${kind} ${name}`);
      return created as T;
    }
    const owners = (live as KubernetesObject).metadata?.ownerReferences ?? [];
    if (!owners.some((owner) => owner.uid === plugin.metadata.uid)) {
      throw new Error(
        `${kind} ${namespace}/${name} exists and is not owned by ${plugin.kind} ${plugin.metadata.name}`,
      );
    }
    if (matchesDesired(live, desired)) return live as T;
    const { apiVersion: _apiVersion, kind: _kind, ...body } = desired as KubernetesObject;
    const patched = await cluster.mergePatch(kind, namespace, name, body);
    await this.#options.recorder.event(plugin, "Normal", "Updated", `updated ${kind} ${name}`);
    return patched as T;
  }

  async #ensureSidecar(plugin: PluginObject, container: V1Container, suspended: boolean): Promise<Verdict> {
    const manager = this.#options.managerDeployment;
    if (!manager) {
      return {
        status: "False",
        reason: "NoManagerDeployment",
        message: "POD_NAMESPACE is not set, so Patchbay cannot find its own Deployment to add the sidecar to",
      };
    }
    await this.#ensureFinalizer(plugin);
    const deployment = await this.#options.cluster.read<V1Deployment>(
      "Deployment",
      manager.namespace,
      manager.name,
    );
    if (!deployment) {
      return {
        status: "False",
        reason: "ManagerDeploymentNotFound",
        message: `Deployment ${manager.namespace}/${manager.name} not found`,
      };
    }
    const containers = deployment.spec?.template?.spec?.containers ?? [];
    const operations = suspended
      ? removeContainerPatch(containers, container.name)
      : upsertContainerPatch(containers, container);
    if (operations.length > 0) {
      await this.#options.cluster.jsonPatchDeployment(manager.namespace, manager.name, operations);
      await this.#options.recorder.event(
        plugin,
        "Normal",
        suspended ? "SidecarRemoved" : "SidecarConfigured",
        `${suspended ? "removed" : "set"} container ${container.name} in Deployment ${manager.namespace}/${manager.name} (its Pods restart)`,
      );
    }
    if (suspended) return { status: "False", reason: "Suspended", message: "spec.suspend is true" };
    return {
      status: "True",
      reason: "SidecarConfigured",
      message: `container ${container.name} in Deployment ${manager.namespace}/${manager.name}`,
    };
  }

  /** A mode change leaves the old mode's workload behind: remove it. */
  async #cleanUpOtherModes(plugin: PluginObject, mode: RuntimeMode): Promise<void> {
    const previous = plugin.status?.mode;
    const namespace = plugin.metadata.namespace ?? "default";
    const name = workloadName(this.kind, plugin.metadata.name);
    if (previous === "pod" && mode !== "pod") {
      for (const kind of ["Deployment", "Service", "ServiceAccount"] as const) {
        const live = await this.#options.cluster.read<never>(kind, namespace, name);
        const owned = (live as KubernetesObject | undefined)?.metadata?.ownerReferences?.some(
          (owner) => owner.uid === plugin.metadata.uid,
        );
        if (owned) await this.#options.cluster.delete(kind, namespace, name);
      }
    }
    if (mode !== "sidecar" && plugin.metadata.finalizers?.includes(FINALIZER)) {
      await this.#removeSidecar(plugin);
      await this.#setFinalizer(plugin, false);
    }
  }

  async #finalize(plugin: PluginObject, key: ObjectKey): Promise<void> {
    this.#unregister(key);
    this.#updateClaims();
    this.#syncDirectory();
    if (!plugin.metadata.finalizers?.includes(FINALIZER)) return;
    await this.#removeSidecar(plugin);
    await this.#setFinalizer(plugin, false);
  }

  async #removeSidecar(plugin: PluginObject): Promise<void> {
    const manager = this.#options.managerDeployment;
    if (!manager) return;
    const name = workloadName(this.kind, plugin.metadata.name);
    const deployment = await this.#options.cluster.read<V1Deployment>(
      "Deployment",
      manager.namespace,
      manager.name,
    );
    const operations = removeContainerPatch(deployment?.spec?.template?.spec?.containers ?? [], name);
    if (operations.length === 0) return;
    await this.#options.cluster.jsonPatchDeployment(manager.namespace, manager.name, operations);
    await this.#options.recorder.event(
      plugin,
      "Normal",
      "SidecarRemoved",
      `removed container ${name} from Deployment ${manager.namespace}/${manager.name} (its Pods restart)`,
    );
  }

  async #ensureFinalizer(plugin: PluginObject): Promise<void> {
    if (!plugin.metadata.finalizers?.includes(FINALIZER)) await this.#setFinalizer(plugin, true);
  }

  async #setFinalizer(plugin: PluginObject, present: boolean): Promise<void> {
    const others = (plugin.metadata.finalizers ?? []).filter((finalizer) => finalizer !== FINALIZER);
    try {
      await this.#options.cluster.patchFinalizers(
        this.plural,
        plugin.metadata.namespace ?? "default",
        plugin.metadata.name,
        present ? [...others, FINALIZER] : others,
        plugin.metadata.resourceVersion,
      );
    } catch (error) {
      // Gone already: nothing left to hold.
      if (statusCode(error) === 404 && !present) return;
      throw new Error(`cannot ${present ? "add" : "remove"} finalizer ${FINALIZER}: ${apiMessage(error)}`);
    }
  }

  async #credentials(
    plugin: PluginObject,
    tls: NonNullable<NonNullable<PluginResource["spec"]["runtime"]["external"]>["tls"]>,
  ) {
    const material = await externalTlsCredentials(
      this.#options.cluster,
      plugin.metadata.namespace ?? "default",
      tls,
    );
    const key = qualifiedName(plugin);
    const cached = this.#tls.get(key);
    // The hub compares credentials by identity: the same material must give the same object.
    if (cached?.fingerprint === material.fingerprint) return cached.credentials;
    this.#tls.set(key, material);
    return material.credentials;
  }

  #register(plugin: PluginObject, key: ObjectKey, outcome: WorkloadOutcome): void {
    const name = plugin.metadata.name;
    this.#registered.set(name, { key, plugin });
    this.#options.dataPlane.hub.upsert({
      kind: this.kind,
      name,
      config: plugin.spec.config ?? {},
      credentials: outcome.credentials,
      address: outcome.reachable ? outcome.endpoint : undefined,
      pending: outcome.reachable
        ? undefined
        : { reason: "WorkloadUnavailable", message: `waiting for the workload: ${outcome.verdict.message}` },
    });
  }

  #unregister(key: ObjectKey): void {
    const name = key.name;
    const registration = this.#registered.get(name);
    if (!registration || keyToString(registration.key) !== keyToString(key)) return;
    this.#registered.delete(name);
    this.#tls.delete(keyToString(key));
    this.#options.dataPlane.hub.remove(this.kind, name);
  }

  /** Recomputes who holds which name and prefix; requeues plugins whose claim changed. */
  #updateClaims(): Map<string, LostClaim> {
    const contenders = this.#options.informer
      .list()
      .filter(
        (plugin) =>
          !plugin.metadata.deletionTimestamp &&
          !plugin.spec?.suspend &&
          this.#validate(plugin).length === 0 &&
          runtimeMode(plugin.spec.runtime) !== "process",
      );
    const claims = lostClaims(contenders, (plugin) =>
      plugin.kind === "ExecutorPlugin" ? plugin.spec.prefixes : [],
    );
    const changed = new Set<string>();
    for (const [name, claim] of claims)
      if (this.#claims.get(name)?.message !== claim.message) changed.add(name);
    for (const name of this.#claims.keys()) if (!claims.has(name)) changed.add(name);
    this.#claims = claims;
    for (const plugin of contenders) {
      if (changed.has(qualifiedName(plugin))) this.#requeue(keyOf(plugin));
    }
    return claims;
  }

  #syncDirectory(): void {
    const registered = [...this.#registered.values()].map(({ plugin }) => plugin);
    if (this.kind === "source") {
      this.#options.dataPlane.setSources(
        registered.map((plugin) => ({ name: plugin.metadata.name, labels: plugin.metadata.labels ?? {} })),
      );
      return;
    }
    this.#options.dataPlane.setExecutors(
      (registered as ExecutorPlugin[]).map((plugin) => ({
        name: plugin.metadata.name,
        prefixes: plugin.spec.prefixes,
        aliases: plugin.spec.aliases ?? {},
        timeoutMs: (plugin.spec.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
      })),
    );
  }

  async #writeStatus(
    plugin: PluginObject,
    observation: PluginObservation,
    endpoint: string | undefined,
  ): Promise<ReconcileResult | void> {
    const generation = plugin.metadata.generation ?? 0;
    const status: PluginStatus = structuredClone(plugin.status ?? {});
    const conditionSet = this.kind === "source" ? sourceConditions : executorConditions;
    markPluginConditions(conditionSet.manage(status, generation), observation);
    status.observedGeneration = generation;
    status.mode = observation.mode;
    status.endpoint = endpoint;
    const described = observation.hub?.plugin;
    if (described)
      status.plugin = {
        name: described.name,
        version: described.version,
        description: described.description,
      };
    const ready = status.conditions?.find((condition) => condition.type === READY);
    status.ready = ready?.status;
    status.reason = ready?.reason;
    return writeStatus({
      cluster: this.#options.cluster,
      recorder: this.#options.recorder,
      log: this.#log,
      plural: this.plural,
      object: plugin,
      status,
    });
  }
}
