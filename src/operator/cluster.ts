/**
 * The calls the operator makes to the API server, over the real client. Built-in workloads are
 * created, then kept in line with merge patches, NetworkPolicies with a replace (the operator owns
 * them whole); Patchbay's own Deployment takes guarded JSON patches; custom resources take merge
 * patches (they do not accept strategic merge). Every write names the field manager "patchbay".
 */
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  NetworkingV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Deployment,
  type V1NetworkPolicy,
  type V1Secret,
  type V1Service,
  type V1ServiceAccount,
} from "@kubernetes/client-node";
import { GROUP, VERSION } from "../api/v1alpha1/index.ts";
import { FIELD_MANAGER } from "./names.ts";
import type { JsonPatchOperation } from "./sidecars.ts";

export type WorkloadKind = "Deployment" | "Service" | "ServiceAccount" | "NetworkPolicy";
type Workload = V1Deployment | V1Service | V1ServiceAccount | V1NetworkPolicy;

const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const jsonPatch = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);

export function statusCode(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

/** The API server's own message (from its Status body) rather than the client's wrapper text. */
export function apiMessage(error: unknown): string {
  if (error instanceof ApiException) {
    const body = error.body as unknown;
    const parsed = typeof body === "string" ? safeParse(body) : body;
    const message = (parsed as { message?: unknown } | undefined)?.message;
    return typeof message === "string" ? `${message} (HTTP ${error.code})` : `HTTP ${error.code}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** A write refused because this replica no longer leads (see ClusterOptions.mayWrite). */
export class NotLeadingError extends Error {
  override name = "NotLeadingError";
}

export interface ClusterOptions {
  /**
   * Asked before every write. The operator answers whether it still leads: a reconcile that was under
   * way when leadership was lost must not write while the next leader may already be writing.
   */
  mayWrite?: () => boolean;
}

export class Cluster {
  readonly #core: CoreV1Api;
  readonly #apps: AppsV1Api;
  readonly #custom: CustomObjectsApi;
  readonly #networking: NetworkingV1Api;
  readonly #mayWrite: () => boolean;

  constructor(kubeConfig: KubeConfig, options: ClusterOptions = {}) {
    this.#core = kubeConfig.makeApiClient(CoreV1Api);
    this.#apps = kubeConfig.makeApiClient(AppsV1Api);
    this.#custom = kubeConfig.makeApiClient(CustomObjectsApi);
    this.#networking = kubeConfig.makeApiClient(NetworkingV1Api);
    this.#mayWrite = options.mayWrite ?? (() => true);
  }

  #fence(what: string): void {
    if (!this.#mayWrite()) throw new NotLeadingError(`not leading any more: ${what} not sent`);
  }

  /** Patchbay's own Deployment, which sidecars join (plugin workloads are read from informers). */
  async readDeployment(namespace: string, name: string): Promise<V1Deployment | undefined> {
    try {
      return await this.#apps.readNamespacedDeployment({ name, namespace });
    } catch (error) {
      if (statusCode(error) === 404) return undefined;
      throw error;
    }
  }

  async create<T extends Workload>(kind: WorkloadKind, body: T): Promise<T> {
    this.#fence(`create ${kind}`);
    const object = body as never;
    const namespace = body.metadata!.namespace!;
    const request = { namespace, fieldManager: FIELD_MANAGER };
    if (kind === "Deployment")
      return (await this.#apps.createNamespacedDeployment({ ...request, body: object })) as T;
    if (kind === "Service")
      return (await this.#core.createNamespacedService({ ...request, body: object })) as T;
    if (kind === "NetworkPolicy")
      return (await this.#networking.createNamespacedNetworkPolicy({ ...request, body: object })) as T;
    return (await this.#core.createNamespacedServiceAccount({ ...request, body: object })) as T;
  }

  /** Brings a live workload to `desired` (which the operator owns whole). */
  async update<T extends Workload>(kind: WorkloadKind, desired: T): Promise<T> {
    this.#fence(`update ${kind}`);
    const namespace = desired.metadata!.namespace!;
    const name = desired.metadata!.name!;
    if (kind === "NetworkPolicy") {
      // client-node's model calls `from` `_from`; only its serializer, which a patch body bypasses,
      // renames it back. A patch would send `_from`, which the server drops, leaving a rule that
      // admits everyone. A replace is serialized as a V1NetworkPolicy.
      const body = desired as V1NetworkPolicy;
      return (await this.#networking.replaceNamespacedNetworkPolicy({
        name,
        namespace,
        body,
        fieldManager: FIELD_MANAGER,
      })) as T;
    }
    const { apiVersion: _apiVersion, kind: _kind, ...body } = desired;
    const request = { name, namespace, body, fieldManager: FIELD_MANAGER };
    if (kind === "Deployment") return (await this.#apps.patchNamespacedDeployment(request, mergePatch)) as T;
    if (kind === "Service") return (await this.#core.patchNamespacedService(request, mergePatch)) as T;
    return (await this.#core.patchNamespacedServiceAccount(request, mergePatch)) as T;
  }

  async delete(kind: WorkloadKind, namespace: string, name: string): Promise<void> {
    this.#fence(`delete ${kind}`);
    try {
      if (kind === "Deployment") await this.#apps.deleteNamespacedDeployment({ name, namespace });
      else if (kind === "Service") await this.#core.deleteNamespacedService({ name, namespace });
      else if (kind === "NetworkPolicy")
        await this.#networking.deleteNamespacedNetworkPolicy({ name, namespace });
      else await this.#core.deleteNamespacedServiceAccount({ name, namespace });
    } catch (error) {
      if (statusCode(error) !== 404) throw error;
    }
  }

  async jsonPatchDeployment(
    namespace: string,
    name: string,
    operations: JsonPatchOperation[],
  ): Promise<V1Deployment> {
    this.#fence("patch Deployment");
    return this.#apps.patchNamespacedDeployment(
      { name, namespace, body: operations, fieldManager: FIELD_MANAGER },
      jsonPatch,
    );
  }

  /** Merge-patches a custom resource's status subresource. */
  async patchStatus(plural: string, namespace: string, name: string, status: object): Promise<void> {
    this.#fence(`patch ${plural}/status`);
    await this.#custom.patchNamespacedCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        plural,
        namespace,
        name,
        body: { status },
        fieldManager: FIELD_MANAGER,
      },
      mergePatch,
    );
  }

  /** Replaces a custom resource's finalizers; the resourceVersion makes a stale write a 409. */
  async patchFinalizers(
    plural: string,
    namespace: string,
    name: string,
    finalizers: string[],
    resourceVersion: string | undefined,
  ): Promise<void> {
    this.#fence(`patch ${plural} finalizers`);
    await this.#custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        plural,
        namespace,
        name,
        body: { metadata: { finalizers, resourceVersion } },
        fieldManager: FIELD_MANAGER,
      },
      mergePatch,
    );
  }

  async listCustom<T>(plural: string, namespace: string | undefined): Promise<{ items: T[] } & object> {
    const request = { group: GROUP, version: VERSION, plural };
    return namespace
      ? this.#custom.listNamespacedCustomObject({ ...request, namespace })
      : this.#custom.listClusterCustomObject(request);
  }

  /**
   * Creates a Secret, or answers undefined when one of that name exists already (409 AlreadyExists).
   * Not fenced on leadership: every replica may create the ingress token Secret at start, and only the
   * first creation wins.
   */
  async createSecret(body: V1Secret): Promise<V1Secret | undefined> {
    try {
      return await this.#core.createNamespacedSecret({
        namespace: body.metadata!.namespace!,
        fieldManager: FIELD_MANAGER,
        body,
      });
    } catch (error) {
      if (statusCode(error) === 409) return undefined;
      throw error;
    }
  }

  async readSecret(namespace: string, name: string): Promise<V1Secret | undefined> {
    try {
      return await this.#core.readNamespacedSecret({ name, namespace });
    } catch (error) {
      if (statusCode(error) === 404) return undefined;
      throw error;
    }
  }
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
