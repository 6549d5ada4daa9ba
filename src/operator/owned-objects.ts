/**
 * The objects Patchbay creates for pod-mode plugins (Deployment, Service, ServiceAccount, NetworkPolicy),
 * each kind watched by one shared informer filtered on `app.kubernetes.io/managed-by=patchbay`. The
 * reconciler reads them here instead of from the API server, and an add, change or delete of one enqueues
 * its owner (controller-runtime's `Owns`): so a reconcile at rest costs no request at all, and an object
 * deleted by hand comes back from its owner's reconcile, not from a poll.
 */
import {
  AppsV1Api,
  CoreV1Api,
  NetworkingV1Api,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { ResourceInformer } from "../controller/index.ts";
import type { Logger } from "../observability/logger.ts";
import type { WorkloadKind } from "./cluster.ts";
import { MANAGED_BY } from "./names.ts";

export const MANAGED_SELECTOR = `app.kubernetes.io/managed-by=${MANAGED_BY}`;

export const WORKLOAD_KINDS: readonly WorkloadKind[] = [
  "Deployment",
  "Service",
  "ServiceAccount",
  "NetworkPolicy",
];

/** Reads of the owned objects, from the informers' caches. */
export interface OwnedObjectCache {
  get<T extends KubernetesObject>(kind: WorkloadKind, namespace: string, name: string): T | undefined;
}

export class OwnedObjects implements OwnedObjectCache {
  readonly informers: Readonly<Record<WorkloadKind, ResourceInformer<KubernetesObject>>>;

  constructor(kubeConfig: KubeConfig, namespace: string | undefined, log: Logger) {
    const apps = kubeConfig.makeApiClient(AppsV1Api);
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const networking = kubeConfig.makeApiClient(NetworkingV1Api);
    const labelSelector = MANAGED_SELECTOR;
    const scope = namespace ? `/namespaces/${namespace}` : "";
    const informer = (path: string, list: (namespace: string | undefined) => Promise<unknown>) =>
      new ResourceInformer<KubernetesObject>({
        kubeConfig,
        path,
        labelSelector,
        list: () => list(namespace) as Promise<KubernetesListObject<KubernetesObject>>,
        log,
      });
    this.informers = {
      Deployment: informer(`/apis/apps/v1${scope}/deployments`, (ns) =>
        ns
          ? apps.listNamespacedDeployment({ namespace: ns, labelSelector })
          : apps.listDeploymentForAllNamespaces({ labelSelector }),
      ),
      Service: informer(`/api/v1${scope}/services`, (ns) =>
        ns
          ? core.listNamespacedService({ namespace: ns, labelSelector })
          : core.listServiceForAllNamespaces({ labelSelector }),
      ),
      ServiceAccount: informer(`/api/v1${scope}/serviceaccounts`, (ns) =>
        ns
          ? core.listNamespacedServiceAccount({ namespace: ns, labelSelector })
          : core.listServiceAccountForAllNamespaces({ labelSelector }),
      ),
      NetworkPolicy: informer(`/apis/networking.k8s.io/v1${scope}/networkpolicies`, (ns) =>
        ns
          ? networking.listNamespacedNetworkPolicy({ namespace: ns, labelSelector })
          : networking.listNetworkPolicyForAllNamespaces({ labelSelector }),
      ),
    };
  }

  get<T extends KubernetesObject>(kind: WorkloadKind, namespace: string, name: string): T | undefined {
    return this.informers[kind].get({ namespace, name }) as T | undefined;
  }
}

/** The key of the object's controlling owner of `kind`, for enqueueing it. */
export function controllerOwnerKeys(
  obj: KubernetesObject,
  kind: string,
): { namespace: string | undefined; name: string }[] {
  const owner = obj.metadata?.ownerReferences?.find(
    (reference) => reference.controller && reference.kind === kind,
  );
  return owner ? [{ namespace: obj.metadata?.namespace, name: owner.name }] : [];
}
