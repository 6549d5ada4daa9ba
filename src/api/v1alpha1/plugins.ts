/**
 * SourcePlugin and ExecutorPlugin: the custom resources that declare a plugin, how it runs, and its
 * config. `patchbay local` reads the same YAML the operator reconciles.
 */
import type { Condition, ObjectMeta, SecretKeyRef } from "./meta.ts";

/** Exactly one of the runtime modes is set. */
export interface PluginRuntime {
  /** A Deployment and a Service per plugin, owned by the CR. */
  pod?: PodRuntime;
  /** A container in Patchbay's own pod, reached on localhost. */
  sidecar?: SidecarRuntime;
  /** An address that is already serving the plugin protocol. */
  external?: ExternalRuntime;
  /** A child process of `patchbay local` (local runs only). */
  process?: ProcessRuntime;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: SecretKeyRef };
}

export interface ResourceRequirements {
  requests?: Record<string, string>;
  limits?: Record<string, string>;
}

/**
 * `command` and `args` mean what they mean in a Pod: `command` replaces the image's ENTRYPOINT and
 * `args` its CMD; unset, the image's own ENTRYPOINT runs. Patchbay's image runs a bundled plugin with
 * `command: ["node"]`, `args: ["plugins/<name>/main.ts"]`.
 */
export interface PodRuntime {
  image: string;
  /** The program to run, replacing the image's ENTRYPOINT, e.g. ["node"]. Default: the image's own. */
  command?: string[];
  /** Arguments to the program, replacing the image's CMD, e.g. ["plugins/heartbeat/main.ts"]. */
  args?: string[];
  env?: EnvVar[];
  /** The gRPC port the plugin listens on inside the pod. Default 50051. */
  port?: number;
  replicas?: number;
  resources?: ResourceRequirements;
  /** Extra rules for the plugin's own ServiceAccount, e.g. read access for the kubernetes source. */
  serviceAccountName?: string;
}

/** `command` and `args` as in PodRuntime. */
export interface SidecarRuntime {
  image: string;
  /** The program to run, replacing the image's ENTRYPOINT, e.g. ["node"]. Default: the image's own. */
  command?: string[];
  /** Arguments to the program, replacing the image's CMD, e.g. ["plugins/echo/main.ts"]. */
  args?: string[];
  env?: EnvVar[];
  /** The localhost port the sidecar listens on; unique within the Patchbay pod. */
  port: number;
  resources?: ResourceRequirements;
}

export interface ExternalRuntime {
  /** host:port of a running plugin. */
  address: string;
  tls?: {
    /** Secret holding ca.crt (and optionally tls.crt/tls.key for mutual TLS). */
    secretName?: string;
    serverName?: string;
    insecureSkipVerify?: boolean;
  };
}

export interface ProcessRuntime {
  /** The program and its arguments; "node" means the Node that runs Patchbay. */
  command: string[];
  env?: Record<string, string>;
  /** Relative to the folder the manifest was read from. Default: the current directory. */
  workingDir?: string;
}

export interface PluginSpecCommon {
  runtime: PluginRuntime;
  /** Free-form config, validated against the JSON Schema the plugin declares in Describe. */
  config?: unknown;
  /** Set true to stop the plugin without deleting the resource. */
  suspend?: boolean;
}

export type SourcePluginSpec = PluginSpecCommon;

export interface ExecutorPluginSpec extends PluginSpecCommon {
  /** Command prefixes this executor answers, e.g. ["kubectl"]; the longest match wins. */
  prefixes: string[];
  /** Shorthands expanded before dispatch, e.g. {"k": "kubectl", "kgp": "kubectl get pods"}. */
  aliases?: Record<string, string>;
  /** Deadline for one Execute call. Default 30. */
  timeoutSeconds?: number;
}

export interface PluginStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  /** Where Patchbay reaches the plugin (host:port). */
  endpoint?: string;
  /** What the plugin reported in Describe. */
  plugin?: { name: string; version: string; description?: string };
  /** Convenience copies of the Ready condition for printer columns. */
  ready?: string;
  reason?: string;
  mode?: string;
}

export interface SourcePlugin {
  apiVersion: "patchbay.dev/v1alpha1";
  kind: "SourcePlugin";
  metadata: ObjectMeta;
  spec: SourcePluginSpec;
  status?: PluginStatus;
}

export interface ExecutorPlugin {
  apiVersion: "patchbay.dev/v1alpha1";
  kind: "ExecutorPlugin";
  metadata: ObjectMeta;
  spec: ExecutorPluginSpec;
  status?: PluginStatus;
}

export type PluginResource = SourcePlugin | ExecutorPlugin;

export type RuntimeMode = keyof PluginRuntime;

/** The one runtime mode a spec sets, or undefined when it sets none or several. */
export function runtimeMode(runtime: PluginRuntime): RuntimeMode | undefined {
  const set = (Object.keys(runtime) as RuntimeMode[]).filter((mode) => runtime[mode] !== undefined);
  return set.length === 1 ? set[0] : undefined;
}
