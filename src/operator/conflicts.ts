/**
 * Which plugins lose a claim another one holds: the hub knows each plugin by kind and name only, and
 * the dispatcher routes each command prefix to one executor. The oldest claimant keeps the claim
 * (creation time, then namespace/name), so creating a newcomer never takes anything from a running one.
 */
import type { ExecutorPlugin, PluginResource } from "../api/v1alpha1/index.ts";
import { isContender } from "./plugin-spec.ts";
import type { PluginObject } from "./resources.ts";

export interface Claimant {
  metadata: { name: string; namespace?: string; creationTimestamp?: string };
}

export interface LostClaim {
  reason: "NameConflict" | "PrefixConflict";
  message: string;
}

export function qualifiedName(plugin: Claimant): string {
  return plugin.metadata.namespace
    ? `${plugin.metadata.namespace}/${plugin.metadata.name}`
    : plugin.metadata.name;
}

/**
 * Oldest first (creation time, then namespace/name). Each sort key is computed once per object rather
 * than in every comparison: a data-plane sync orders every plugin, and with a thousand of them parsing
 * dates inside the comparator was the largest part of its cost.
 */
export function oldestFirst<T extends Claimant>(claimants: readonly T[]): T[] {
  const keyed = claimants.map((claimant) => ({
    claimant,
    time: Date.parse(claimant.metadata.creationTimestamp ?? ""),
    name: qualifiedName(claimant),
  }));
  keyed.sort((a, b) => {
    const byTime = a.time - b.time;
    if (byTime) return byTime;
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
  return keyed.map((entry) => entry.claimant);
}

/**
 * The claims each plugin loses, by qualified name. `claims` lists what a plugin claims: its hub name,
 * and for executors its prefixes. A plugin that loses its name is out entirely and claims nothing else.
 */
export function lostClaims<T extends PluginResource>(
  plugins: readonly T[],
  prefixesOf: (plugin: T) => readonly string[] = () => [],
): Map<string, LostClaim> {
  const lost = new Map<string, LostClaim>();
  const names = new Map<string, T>();
  const prefixes = new Map<string, T>();
  for (const plugin of oldestFirst(plugins)) {
    const holder = names.get(plugin.metadata.name);
    if (holder) {
      lost.set(qualifiedName(plugin), {
        reason: "NameConflict",
        message: `${plugin.kind} ${qualifiedName(holder)} already uses the name '${plugin.metadata.name}'; plugin names must be unique across the watched namespaces`,
      });
      continue;
    }
    names.set(plugin.metadata.name, plugin);
    const taken = prefixesOf(plugin).filter((prefix) => prefixes.has(prefix));
    if (taken.length > 0) {
      const other = prefixes.get(taken[0]!)!;
      lost.set(qualifiedName(plugin), {
        reason: "PrefixConflict",
        message: `prefix '${taken.join("', '")}' is already served by ExecutorPlugin ${qualifiedName(other)}, which is older`,
      });
      continue;
    }
    for (const prefix of prefixesOf(plugin)) prefixes.set(prefix, plugin);
  }
  return lost;
}

/**
 * The claims lost among plugins of one kind as the cluster holds them: only contenders claim
 * anything, executors claim their prefixes. Deterministic from the objects, so every replica
 * computes the same answer from its cache.
 */
export function clusterClaims(plugins: readonly PluginObject[]): Map<string, LostClaim> {
  return lostClaims(plugins.filter(isContender), (plugin) =>
    plugin.kind === "ExecutorPlugin" ? (plugin as ExecutorPlugin).spec.prefixes : [],
  );
}
