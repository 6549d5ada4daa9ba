/**
 * What the hub is given for a plugin CR — the one place that derives it, so every replica dials the
 * same address with the same config: pod → the Service's cluster DNS name (once its Deployment is
 * available), sidecar → 127.0.0.1:port, external → the address, with TLS credentials from a Secret.
 */
import type { V1Deployment } from "@kubernetes/client-node";
import { runtimeMode, type ExternalRuntime } from "../api/v1alpha1/index.ts";
import { keyOf, keyToString } from "../controller/index.ts";
import type { PluginKindName, PluginTarget } from "../hub/index.ts";
import type { Cluster } from "./cluster.ts";
import { deploymentVerdict } from "./plugin-status.ts";
import type { PluginObject } from "./resources.ts";
import { externalTlsCredentials, type TlsMaterial } from "./secrets.ts";
import { pluginKindOf, podEndpoint, sidecarContainer, sidecarRefusal } from "./workloads.ts";

export interface PluginTargetsOptions {
  cluster: Pick<Cluster, "readSecret">;
  /** Where the hub dials a plugin, given the endpoint its runtime implies (tests point it at a local process). */
  resolveEndpoint?: (plugin: PluginObject, endpoint: string) => string;
  /** Patchbay's own namespace: sidecar plugins from elsewhere are refused and never dialled. */
  managerNamespace: string;
  /** False when Patchbay runs outside its Deployment: no sidecar joins it, so none is dialled. */
  sidecarsJoinManager: boolean;
}

/** Why the hub was given no address for a plugin whose workload is otherwise fine. */
export interface TargetProblem {
  reason: string;
  message: string;
}

export interface DerivedTarget {
  target: PluginTarget;
  /** Set when the target cannot be dialled for a reason the plugin's status should show (e.g. TLS). */
  problem?: TargetProblem;
}

export class PluginTargets {
  readonly #options: PluginTargetsOptions;
  /** By kind and CR key: the hub compares credentials by identity, so unchanged material reuses one object. */
  readonly #tls = new Map<string, TlsMaterial>();

  constructor(options: PluginTargetsOptions) {
    this.#options = options;
  }

  /** host:port the hub dials, from the spec alone; undefined for a spec without a cluster runtime. */
  endpoint(plugin: PluginObject): string | undefined {
    const runtime = plugin.spec?.runtime;
    const mode = runtime ? runtimeMode(runtime) : undefined;
    let endpoint: string | undefined;
    if (mode === "pod") endpoint = podEndpoint(plugin, runtime!.pod!);
    else if (mode === "sidecar") endpoint = sidecarContainer(plugin, runtime!.sidecar!).endpoint;
    else if (mode === "external") endpoint = runtime!.external!.address;
    if (endpoint === undefined) return undefined;
    return this.#options.resolveEndpoint?.(plugin, endpoint) ?? endpoint;
  }

  /**
   * The hub target for a plugin that should be served. `deployment` is its pod-mode Deployment as
   * cached (undefined when not created yet): until it is available the target has no address.
   */
  async derive(plugin: PluginObject, deployment: V1Deployment | undefined): Promise<DerivedTarget> {
    const kind = pluginKindOf(plugin);
    const name = plugin.metadata.name;
    const config = plugin.spec.config ?? {};
    const endpoint = this.endpoint(plugin);
    const runtime = plugin.spec.runtime;
    if (runtime.pod) {
      const owned = deployment?.metadata?.ownerReferences?.some((owner) => owner.uid === plugin.metadata.uid);
      const verdict = deploymentVerdict(owned ? deployment : undefined, false);
      if (verdict.status === "True") return { target: { kind, name, config, address: endpoint } };
      const pending = {
        reason: "WorkloadUnavailable",
        message: `waiting for the workload: ${verdict.message}`,
      };
      return { target: { kind, name, config, address: undefined, pending } };
    }
    const refusal = runtime.sidecar ? this.#sidecarRefusal(plugin) : undefined;
    if (refusal)
      return { target: { kind, name, config, address: undefined, pending: refusal }, problem: refusal };
    if (runtime.external?.tls) {
      try {
        const credentials = await this.#credentials(plugin, runtime.external.tls);
        return { target: { kind, name, config, address: endpoint, credentials } };
      } catch (error) {
        const problem = { reason: "TLSUnavailable", message: (error as Error).message };
        return { target: { kind, name, config, address: undefined, pending: problem }, problem };
      }
    }
    return { target: { kind, name, config, address: endpoint } };
  }

  #sidecarRefusal(plugin: PluginObject): TargetProblem | undefined {
    if (!this.#options.sidecarsJoinManager) {
      return {
        reason: "NoManagerDeployment",
        message: "Patchbay runs outside its Deployment (POD_NAMESPACE is not set), so no sidecar joins it",
      };
    }
    return sidecarRefusal(plugin, this.#options.managerNamespace);
  }

  /** Drops cached TLS material of plugins of this kind that are no longer served. */
  retain(kind: PluginKindName, served: readonly PluginObject[]): void {
    const keep = new Set(served.map(tlsKey));
    for (const key of this.#tls.keys())
      if (key.startsWith(`${kind}/`) && !keep.has(key)) this.#tls.delete(key);
  }

  async #credentials(plugin: PluginObject, tls: NonNullable<ExternalRuntime["tls"]>) {
    const material = await externalTlsCredentials(
      this.#options.cluster,
      plugin.metadata.namespace ?? "default",
      tls,
    );
    const key = tlsKey(plugin);
    const cached = this.#tls.get(key);
    if (cached?.fingerprint === material.fingerprint) return cached.credentials;
    this.#tls.set(key, material);
    return material.credentials;
  }
}

function tlsKey(plugin: PluginObject): string {
  return `${pluginKindOf(plugin)}/${keyToString(keyOf(plugin))}`;
}
