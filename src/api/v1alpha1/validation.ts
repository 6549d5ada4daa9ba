/**
 * The rules of SourcePlugin and ExecutorPlugin specs, for where the API server's CEL rules do not run
 * (`patchbay local`) and for clear messages in the operator. Each returns the problems, empty = valid.
 */
import {
  runtimeMode,
  type ExecutorPluginSpec,
  type PluginRuntime,
  type SourcePluginSpec,
} from "./plugins.ts";

/** Lower-case words separated by single spaces, e.g. "kubectl" or "helm list". */
export const PREFIX_PATTERN = /^[a-z0-9][a-z0-9._-]*( [a-z0-9][a-z0-9._-]*)*$/;
/** One word of a prefix: an alias's name, e.g. "k" or "kgp". */
export const ALIAS_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;
/** DNS-1035 label, as the CRDs require: a plugin's name also names its Service. */
export const NAME_PATTERN = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** host:port or [ipv6]:port. */
const ADDRESS_PATTERN = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):\d{1,5}$/;

export function validateSourceSpec(spec: SourcePluginSpec | undefined): string[] {
  if (!isObject(spec)) return ["spec is required"];
  return validateRuntime(spec.runtime);
}

export function validateExecutorSpec(spec: ExecutorPluginSpec | undefined): string[] {
  if (!isObject(spec)) return ["spec is required"];
  const problems = validateRuntime(spec.runtime);
  if (!Array.isArray(spec.prefixes) || spec.prefixes.length === 0) {
    problems.push("spec.prefixes must list at least one command prefix");
  } else {
    for (const prefix of spec.prefixes) {
      if (typeof prefix !== "string" || !PREFIX_PATTERN.test(prefix)) {
        problems.push(
          `spec.prefixes: '${String(prefix)}' must be lower-case words separated by single spaces`,
        );
      }
    }
    if (new Set(spec.prefixes).size !== spec.prefixes.length) problems.push("spec.prefixes has duplicates");
  }
  for (const [alias, expansion] of Object.entries(spec.aliases ?? {})) {
    if (!ALIAS_PATTERN.test(alias)) {
      problems.push(`spec.aliases: '${alias}' must be one lower-case word`);
    }
    if (typeof expansion !== "string" || expansion.trim() === "") {
      problems.push(`spec.aliases.${alias} must expand to a non-empty command`);
    }
  }
  if (spec.timeoutSeconds !== undefined && !(spec.timeoutSeconds > 0 && spec.timeoutSeconds <= 600)) {
    problems.push("spec.timeoutSeconds must be between 1 and 600");
  }
  return problems;
}

function validateRuntime(runtime: PluginRuntime | undefined): string[] {
  if (!isObject(runtime)) return ["spec.runtime is required (one of pod, sidecar, external, process)"];
  if (!runtimeMode(runtime)) {
    const set = Object.keys(runtime).filter((key) => runtime[key as keyof PluginRuntime] !== undefined);
    return [
      `spec.runtime must set exactly one of pod, sidecar, external, process (it sets ${set.length ? set.join(", ") : "none"})`,
    ];
  }
  const problems: string[] = [];
  if (runtime.process && (!Array.isArray(runtime.process.command) || runtime.process.command.length === 0)) {
    problems.push("spec.runtime.process.command must name the program to run");
  }
  if (runtime.external && !ADDRESS_PATTERN.test(runtime.external.address ?? "")) {
    problems.push("spec.runtime.external.address must be host:port or [ipv6]:port");
  }
  if (runtime.pod && !runtime.pod.image) problems.push("spec.runtime.pod.image is required");
  if (runtime.sidecar && !runtime.sidecar.image) problems.push("spec.runtime.sidecar.image is required");
  return problems;
}

function isObject<T>(value: T | undefined): value is T {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
