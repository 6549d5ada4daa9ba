/** What the hub tells the rest of Patchbay about each plugin. */
import type { Severity } from "../events/cloudevent.ts";

export type PluginKindName = "source" | "executor";

/**
 * Connecting: dialling or describing. Ready: usable. ConfigInvalid: the plugin's schema rejects the
 * config (waits for a new config). Incompatible: wrong protocol major version or wrong kind.
 * Unavailable: unreachable or failing; the hub keeps retrying with backoff.
 */
export type PluginPhase = "Connecting" | "Ready" | "ConfigInvalid" | "Incompatible" | "Unavailable";

export interface PluginDescription {
  name: string;
  version: string;
  description: string;
  configSchema: unknown;
  acceptsExternalRequests: boolean;
  resumableStream: boolean;
}

export interface IngressPolicy {
  acceptCloudEvents: boolean;
  allowedTypes: string[];
}

export interface PluginState {
  kind: PluginKindName;
  name: string;
  address: string;
  phase: PluginPhase;
  /** UpperCamelCase, machine-readable: becomes a condition's reason. */
  reason: string;
  /** For people: what happened and, where it helps, what to do. */
  message: string;
  since: Date;
  /** From the last successful Describe. */
  plugin?: PluginDescription;
  /** Sources only, from the last successful IngressPolicy call. */
  ingress?: IngressPolicy;
}

export type { Severity };
