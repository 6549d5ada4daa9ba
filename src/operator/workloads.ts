/**
 * What a plugin CR becomes in the cluster, as pure functions of the CR: for `runtime.pod` a
 * ServiceAccount, a Deployment and a Service owned by the CR (so deleting the CR deletes them); for
 * `runtime.sidecar` a container for Patchbay's own Pod. Hardened like the manager: non-root,
 * read-only root filesystem, no privilege escalation, no capabilities, RuntimeDefault seccomp.
 */
import type {
  V1Container,
  V1Deployment,
  V1EnvVar,
  V1NetworkPolicy,
  V1OwnerReference,
  V1ResourceRequirements,
  V1SecurityContext,
  V1Service,
  V1ServiceAccount,
} from "@kubernetes/client-node";
import type {
  PluginResource,
  PodRuntime,
  ResourceRequirements,
  SidecarRuntime,
} from "../api/v1alpha1/index.ts";
import { API_VERSION } from "../api/v1alpha1/index.ts";
import type { PluginKindName } from "../hub/index.ts";
import { MANAGER_POD_LABELS, pluginAppName, selectorLabels, workloadLabels, workloadName } from "./names.ts";

export const DEFAULT_PLUGIN_PORT = 50051;
export const PLUGIN_CONTAINER = "plugin";

export const DEFAULT_RESOURCES: Readonly<ResourceRequirements> = Object.freeze({
  requests: { cpu: "10m", memory: "64Mi" },
  limits: { memory: "256Mi" },
});

export interface PodWorkload {
  /** Absent when the spec names an existing ServiceAccount. */
  serviceAccount?: V1ServiceAccount;
  deployment: V1Deployment;
  service: V1Service;
  /** Admits only Patchbay's own Pods, on the plugin's gRPC port. */
  networkPolicy: V1NetworkPolicy;
  /** host:port the hub dials: the Service's cluster DNS name. */
  endpoint: string;
}

export function pluginKindOf(plugin: PluginResource): PluginKindName {
  return plugin.kind === "SourcePlugin" ? "source" : "executor";
}

/** Makes the CR the controller owner, so garbage collection removes the object with the CR. */
export function ownerReference(plugin: PluginResource): V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: plugin.kind,
    name: plugin.metadata.name,
    uid: plugin.metadata.uid ?? "",
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** host:port of a pod-mode plugin's Service, without building its workload (asked on every sync). */
export function podEndpoint(plugin: PluginResource, runtime: PodRuntime): string {
  const name = workloadName(pluginKindOf(plugin), plugin.metadata.name);
  return `${name}.${plugin.metadata.namespace ?? "default"}.svc:${runtime.port ?? DEFAULT_PLUGIN_PORT}`;
}

/**
 * `managerNamespace` is where Patchbay's own Pods run: the plugin's NetworkPolicy admits them alone.
 */
export function podWorkload(
  plugin: PluginResource,
  runtime: PodRuntime,
  managerNamespace: string,
): PodWorkload {
  const kind = pluginKindOf(plugin);
  const crName = plugin.metadata.name;
  const namespace = plugin.metadata.namespace ?? "default";
  const name = workloadName(kind, crName);
  const port = runtime.port ?? DEFAULT_PLUGIN_PORT;
  const labels = workloadLabels(kind, crName, pluginAppName(runtime.args, crName));
  const metadata = () => ({
    name,
    namespace,
    labels: { ...labels },
    ownerReferences: [ownerReference(plugin)],
  });
  const ownAccount = !runtime.serviceAccountName;

  const container: V1Container = {
    ...pluginContainer(PLUGIN_CONTAINER, runtime, `0.0.0.0:${port}`),
    ports: [{ name: "grpc", containerPort: port, protocol: "TCP" }],
    readinessProbe: { grpc: { port }, periodSeconds: 5, failureThreshold: 3 },
    livenessProbe: { grpc: { port }, initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 3 },
  };
  const deployment: V1Deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: metadata(),
    spec: {
      replicas: runtime.replicas ?? 1,
      revisionHistoryLimit: 3,
      selector: { matchLabels: selectorLabels(kind, crName) },
      template: {
        metadata: { labels: { ...labels } },
        spec: {
          serviceAccountName: runtime.serviceAccountName ?? name,
          // The generated account has no roles, so its token would only be something to steal.
          automountServiceAccountToken: !ownAccount,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            runAsGroup: 1000,
            seccompProfile: { type: "RuntimeDefault" },
          },
          containers: [container],
          volumes: [{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }],
        },
      },
    },
  };
  const service: V1Service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: metadata(),
    spec: {
      type: "ClusterIP",
      selector: selectorLabels(kind, crName),
      ports: [{ name: "grpc", port, targetPort: "grpc", protocol: "TCP", appProtocol: "grpc" }],
    },
  };
  // A NetworkPolicy selects Pods in its own namespace, so each plugin gets one beside it.
  const networkPolicy: V1NetworkPolicy = {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: metadata(),
    spec: {
      podSelector: { matchLabels: selectorLabels(kind, crName) },
      policyTypes: ["Ingress"],
      ingress: [
        {
          // client-node's model calls `from` `_from` (a reserved word); it is sent as `from`.
          _from: [
            {
              namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": managerNamespace } },
              podSelector: { matchLabels: { ...MANAGER_POD_LABELS } },
            },
          ],
          ports: [{ protocol: "TCP", port: "grpc" }],
        },
      ],
    },
  };
  const serviceAccount: V1ServiceAccount | undefined = ownAccount
    ? { apiVersion: "v1", kind: "ServiceAccount", metadata: metadata(), automountServiceAccountToken: false }
    : undefined;
  return { serviceAccount, deployment, service, networkPolicy, endpoint: podEndpoint(plugin, runtime) };
}

/** The container a sidecar plugin adds to Patchbay's own Pod, and where the hub reaches it. */
export function sidecarContainer(
  plugin: PluginResource,
  runtime: SidecarRuntime,
): { container: V1Container; endpoint: string } {
  const name = workloadName(pluginKindOf(plugin), plugin.metadata.name);
  return {
    container: pluginContainer(name, runtime, `127.0.0.1:${runtime.port}`),
    endpoint: `127.0.0.1:${runtime.port}`,
  };
}

/** Whether a container in Patchbay's Deployment is a sidecar the operator added. */
export function isSidecarContainerName(name: string): boolean {
  return /^patchbay-(source|executor)-/.test(name);
}

function pluginContainer(name: string, runtime: PodRuntime | SidecarRuntime, address: string): V1Container {
  const env: V1EnvVar[] = [
    { name: "PATCHBAY_PLUGIN_ADDRESS", value: address },
    ...(runtime.env ?? []).filter((variable) => variable.name !== "PATCHBAY_PLUGIN_ADDRESS"),
  ];
  return {
    name,
    image: runtime.image,
    // As in a Pod: command replaces the image's ENTRYPOINT, args its CMD; unset, the image's own run, so
    // a plugin in any language runs as built. (Patchbay's image runs a bundled plugin with command
    // ["node"], since its ENTRYPOINT is `node src/cli/main.ts`.) Empty lists are left out as the API
    // server leaves them out, so the live container matches the desired one.
    ...(runtime.command?.length ? { command: [...runtime.command] } : {}),
    ...(runtime.args?.length ? { args: [...runtime.args] } : {}),
    env,
    resources: resourcesOf(runtime.resources),
    securityContext: hardenedContainer(),
    volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
  };
}

function resourcesOf(resources: ResourceRequirements | undefined): V1ResourceRequirements {
  const chosen = resources && (resources.requests || resources.limits) ? resources : DEFAULT_RESOURCES;
  return structuredClone({ ...chosen }) as V1ResourceRequirements;
}

function hardenedContainer(): V1SecurityContext {
  return {
    runAsNonRoot: true,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/**
 * Why a sidecar plugin may not join Patchbay's Pods, or undefined when it may. A sidecar runs inside the
 * manager Pod with its privileges, so only resources in Patchbay's own namespace (whose editors can
 * already change the manager) may ask for one.
 */
export function sidecarRefusal(
  plugin: PluginResource,
  managerNamespace: string,
): { reason: string; message: string } | undefined {
  const namespace = plugin.metadata.namespace ?? "default";
  if (namespace === managerNamespace) return undefined;
  return {
    reason: "SidecarNotAllowed",
    message: `a sidecar runs inside Patchbay's own Pods, so only resources in namespace ${managerNamespace} may use it; use pod or external`,
  };
}
