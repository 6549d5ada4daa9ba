/**
 * Reconciles SourcePlugins or ExecutorPlugins on the leader: validate the spec, make the workload its
 * runtime mode needs (Deployment and Service, sidecar container, finalizer), and report it all as
 * status conditions. Handing plugins to the hub is the DataPlaneSync's, on every replica; this waits
 * for it to catch up with the cache, then reads this replica's hub for Connected and ConfigValid.
 */
import type { KubernetesObject, V1Container } from "@kubernetes/client-node";
import { runtimeMode, type PluginStatus, type RuntimeMode } from "../api/v1alpha1/index.ts";
import type {
  EventRecorder,
  ObjectKey,
  Reconciler,
  ReconcileResult,
  ResourceInformer,
} from "../controller/index.ts";
import type { PluginHub, PluginKindName } from "../hub/index.ts";
import type { Logger } from "../observability/logger.ts";
import { apiMessage, statusCode, type Cluster, type WorkloadKind } from "./cluster.ts";
import type { DataPlaneSync } from "./data-plane-sync.ts";
import { matchesDesired } from "./match.ts";
import { WORKLOAD_KINDS, type OwnedObjectCache } from "./owned-objects.ts";
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
import { specProblems } from "./plugin-spec.ts";
import { removeContainerPatch, upsertContainerPatch } from "./sidecars.ts";
import type { PluginObject } from "./resources.ts";
import { writeStatus } from "./status-writer.ts";
import { podWorkload, sidecarContainer, sidecarRefusal } from "./workloads.ts";

/** A create refused as AlreadyExists for an object the cache does not hold yet. */
class CacheBehindError extends Error {
  override name = "CacheBehindError";
}

export interface ManagerDeploymentRef {
  namespace: string;
  name: string;
}

export interface PluginReconcilerOptions {
  kind: PluginKindName;
  informer: ResourceInformer<PluginObject>;
  cluster: Cluster;
  /** The pod-mode workloads as cached: read here, never from the API server. */
  owned: OwnedObjectCache;
  /** This replica's hub, whose view of the plugin becomes Connected and ConfigValid. */
  hub: Pick<PluginHub, "state">;
  sync: Pick<DataPlaneSync, "syncPlugins" | "placement">;
  recorder: Pick<EventRecorder, "event">;
  log: Logger;
  /** Patchbay's own Deployment, which sidecar plugins join; undefined when unknown. */
  managerDeployment?: ManagerDeploymentRef;
  /** Where Patchbay's Pods run: pod-mode plugins' NetworkPolicies admit them from there. */
  managerNamespace: string;
}

export class PluginReconciler implements Reconciler {
  readonly kind: PluginKindName;
  readonly plural: string;
  readonly #options: PluginReconcilerOptions;
  readonly #log: Logger;

  constructor(options: PluginReconcilerOptions) {
    this.#options = options;
    this.kind = options.kind;
    this.plural = options.kind === "source" ? "sourceplugins" : "executorplugins";
    this.#log = options.log.child({ reconciler: this.plural });
  }

  async reconcile(key: ObjectKey): Promise<ReconcileResult | void> {
    const { sync } = this.#options;
    const plugin = this.#options.informer.get(key);
    if (!plugin) return sync.syncPlugins(this.kind);
    if (plugin.metadata.deletionTimestamp) {
      await sync.syncPlugins(this.kind);
      return this.#finalize(plugin);
    }

    const problems = specProblems(plugin);
    const mode = problems.length === 0 ? runtimeMode(plugin.spec.runtime) : undefined;
    const suspended = plugin.spec?.suspend === true;
    const observation: PluginObservation = {
      specProblems: problems,
      mode,
      suspended,
      workload: { status: "Unknown", reason: "InvalidSpec", message: problems.join("; ") },
      executor: this.kind === "executor",
    };
    if (mode) {
      await this.#cleanUpOtherModes(plugin, mode);
      try {
        observation.workload = await this.#ensureWorkload(plugin, mode, suspended);
      } catch (error) {
        // Not a failure: the object's add event is on its way, and reconciles this again.
        if (error instanceof CacheBehindError) return { requeue: true };
        throw error;
      }
    }
    await sync.syncPlugins(this.kind);
    const placement = sync.placement(this.kind, key);
    observation.lostClaim = placement?.lostClaim;
    if (placement?.problem && observation.workload.status === "True")
      observation.workload = { status: "False", ...placement.problem };
    if (placement?.registered) observation.hub = this.#options.hub.state(this.kind, plugin.metadata.name);
    return this.#writeStatus(plugin, observation, placement?.endpoint);
  }

  /** Makes the workload the runtime mode needs; the verdict becomes WorkloadAvailable. */
  async #ensureWorkload(plugin: PluginObject, mode: RuntimeMode, suspended: boolean): Promise<Verdict> {
    const runtime = plugin.spec.runtime;
    if (mode === "pod") {
      const workload = podWorkload(plugin, runtime.pod!, this.#options.managerNamespace);
      if (suspended) workload.deployment.spec!.replicas = 0;
      if (workload.serviceAccount) await this.#apply(plugin, "ServiceAccount", workload.serviceAccount);
      await this.#apply(plugin, "NetworkPolicy", workload.networkPolicy);
      await this.#apply(plugin, "Service", workload.service);
      const deployment = await this.#apply(plugin, "Deployment", workload.deployment);
      return deploymentVerdict(deployment, suspended);
    }
    if (mode === "sidecar") {
      const { container } = sidecarContainer(plugin, runtime.sidecar!);
      return this.#ensureSidecar(plugin, container, suspended);
    }
    if (mode === "external") {
      return { status: "True", reason: "ExternalAddress", message: `served at ${runtime.external!.address}` };
    }
    return {
      status: "False",
      reason: "UnsupportedRuntime",
      message:
        "the process runtime starts plugins as child processes of `patchbay local`; in a cluster use pod, sidecar or external",
    };
  }

  /**
   * Creates the object, or updates it when it differs from the cached one; refuses to adopt one another
   * owner holds. The cache can lag behind a create of our own: the server's AlreadyExists then means
   * "reconcile again once the cache has it", which its add event does.
   */
  async #apply<T extends KubernetesObject>(plugin: PluginObject, kind: WorkloadKind, desired: T): Promise<T> {
    const { cluster } = this.#options;
    const namespace = desired.metadata!.namespace!;
    const name = desired.metadata!.name!;
    const live = this.#options.owned.get<T>(kind, namespace, name);
    if (!live) {
      try {
        const created = await cluster.create(kind, desired as never);
        void this.#options.recorder.event(plugin, "Normal", "Created", `created ${kind} ${name}`);
        return created as T;
      } catch (error) {
        if (statusCode(error) !== 409) throw error;
        throw new CacheBehindError(`${kind} ${namespace}/${name} exists but is not in the cache yet`);
      }
    }
    const owners = (live as KubernetesObject).metadata?.ownerReferences ?? [];
    if (!owners.some((owner) => owner.uid === plugin.metadata.uid)) {
      throw new Error(
        `${kind} ${namespace}/${name} exists and is not owned by ${plugin.kind} ${plugin.metadata.name}`,
      );
    }
    if (matchesDesired(live, desired)) return live as T;
    const patched = await cluster.update(kind, desired as never);
    void this.#options.recorder.event(plugin, "Normal", "Updated", `updated ${kind} ${name}`);
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
    const refusal = sidecarRefusal(plugin, manager.namespace);
    if (refusal) return { status: "False", ...refusal };
    await this.#ensureFinalizer(plugin);
    const deployment = await this.#options.cluster.readDeployment(manager.namespace, manager.name);
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
      for (const kind of WORKLOAD_KINDS) {
        const live = this.#options.owned.get(kind, namespace, name);
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

  async #finalize(plugin: PluginObject): Promise<void> {
    if (!plugin.metadata.finalizers?.includes(FINALIZER)) return;
    await this.#removeSidecar(plugin);
    await this.#setFinalizer(plugin, false);
  }

  async #removeSidecar(plugin: PluginObject): Promise<void> {
    const manager = this.#options.managerDeployment;
    if (!manager) return;
    const name = workloadName(this.kind, plugin.metadata.name);
    const deployment = await this.#options.cluster.readDeployment(manager.namespace, manager.name);
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
