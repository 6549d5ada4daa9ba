/**
 * kubectl: runs the real kubectl, never through a shell, read-only. Every argument is checked, on
 * kubectl's own reading of it, before anything runs; output, time and the number of kubectl
 * processes at once are bounded.
 */
import { status } from "@grpc/grpc-js";
import { ExecutorError, serveExecutor } from "@patchbay/sdk";
import { impersonationFlags } from "./impersonation.ts";
import { Busy, ProcessLimit } from "./limit.ts";
import { checkCommand, DEFAULT_DENIED_RESOURCES, KNOWN_VERBS, READ_ONLY_VERBS, Refusal } from "./policy.ts";
import { runKubectl } from "./run.ts";

interface KubectlConfig {
  kubectlPath: string;
  verbs: string[];
  resources: string[];
  deniedResources: string[];
  namespaces: string[];
  defaultNamespace?: string;
  timeoutSeconds: number;
  maxOutputBytes: number;
  maxConcurrent: number;
  maxQueued: number;
}

// One executor per plugin process: this bounds its kubectl processes whatever arrives.
const processLimit = new ProcessLimit();

const nameList = (description: string, defaultValue: string[]) => ({
  type: "array",
  items: { type: "string", pattern: "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$" },
  uniqueItems: true,
  default: defaultValue,
  description,
});

await serveExecutor<KubectlConfig>({
  name: "kubectl",
  version: "1.0.0",
  description: "Runs kubectl, read-only by default, with allow-lists of verbs, resources and namespaces.",
  configSchema: {
    type: "object",
    additionalProperties: false,
    properties: {
      kubectlPath: {
        type: "string",
        minLength: 1,
        default: "kubectl",
        description: "The kubectl binary: a path, or a name looked up on PATH.",
      },
      verbs: {
        type: "array",
        items: { enum: KNOWN_VERBS },
        uniqueItems: true,
        default: READ_ONLY_VERBS,
        description: `Allowed verbs, among those whose grammar the executor knows: ${KNOWN_VERBS.join(", ")}.`,
      },
      resources: nameList("Allowed resource types (short names and singulars match too). Empty: any.", []),
      deniedResources: nameList(
        "Resource types always refused, even when `resources` is empty or lists them (short names and singulars match too). Default: secrets, whose data would be printed to the channel; [] to allow them.",
        DEFAULT_DENIED_RESOURCES,
      ),
      namespaces: nameList("Allowed namespaces; -A is then refused. Empty: any.", []),
      defaultNamespace: {
        type: "string",
        pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        description: "Namespace used when a command names none.",
      },
      timeoutSeconds: { type: "number", exclusiveMinimum: 0, maximum: 600, default: 20 },
      maxOutputBytes: { type: "integer", minimum: 256, maximum: 4194304, default: 65536 },
      maxConcurrent: {
        type: "integer",
        minimum: 1,
        maximum: 64,
        default: 4,
        description: "kubectl processes run at once; further commands wait in a queue.",
      },
      maxQueued: {
        type: "integer",
        minimum: 0,
        maximum: 1000,
        default: 16,
        description:
          "Commands that may wait for a kubectl process; beyond that a command is answered unavailable at once.",
      },
    },
  },
  async execute({ args, prefix, config, context, signal, log }) {
    const kubectlArgs = withoutPrefix(args, prefix);
    let checked;
    try {
      checked = checkCommand(kubectlArgs, config);
    } catch (err) {
      if (err instanceof Refusal) throw new ExecutorError("forbidden", err.message);
      throw err;
    }
    // Only after the check, and only from the context: the command text can never set the identity.
    const identity = impersonationFlags(context.impersonation);
    log.info("running kubectl", { args: checked.args, as: context.impersonation?.user });
    const outcome = await processLimit
      .run(
        () =>
          runKubectl(config.kubectlPath, [...identity, ...checked.args], {
            timeoutMs: config.timeoutSeconds * 1000,
            maxOutputBytes: config.maxOutputBytes,
            signal,
          }),
        config,
        signal,
      )
      .catch((err: unknown) => {
        // The protocol has no "unavailable" ExecuteErrorCode: gRPC UNAVAILABLE is what the hub answers
        // as unavailable (HTTP 503) with this message, without marking the plugin unhealthy.
        if (err instanceof Busy) throw Object.assign(new Error(err.message), { code: status.UNAVAILABLE });
        if (signal.aborted)
          throw new ExecutorError("timeout", "cancelled by the caller while waiting for kubectl");
        throw err;
      });
    switch (outcome.kind) {
      case "not-started":
        throw new ExecutorError("failed", `kubectl could not be started: ${outcome.reason}`);
      case "timeout":
        throw new ExecutorError(
          "timeout",
          `kubectl took longer than ${config.timeoutSeconds}s and was stopped`,
          outcome.output,
        );
      case "cancelled":
        throw new ExecutorError("timeout", "cancelled by the caller; kubectl was stopped", outcome.output);
      case "exited":
        if (outcome.code !== 0) {
          throw new ExecutorError("failed", `kubectl exited with code ${outcome.code}`, outcome.output);
        }
        return outcome.output;
    }
  },
  help: (config) =>
    [
      "kubectl <verb> [resource] [flags] — runs kubectl.",
      `Verbs: ${config.verbs.join(", ")}.`,
      `Resources: ${config.resources.length > 0 ? config.resources.join(", ") : "any"}${config.deniedResources.length > 0 ? ` (never ${config.deniedResources.join(", ")})` : ""}.`,
      `Namespaces: ${config.namespaces.length > 0 ? config.namespaces.join(", ") : "any"}${config.defaultNamespace ? ` (default ${config.defaultNamespace})` : ""}.`,
      "Put the verb first; each verb takes its own read-only flags (-n, -o, -l, -A, --field-selector; logs: --tail, -c, --since, -p …); no --watch, --follow, files or identity flags.",
    ].join("\n"),
});

/** "kubectl get pods" → ["get", "pods"]; the prefix may be several words (after alias expansion). */
function withoutPrefix(args: string[], prefix: string): string[] {
  const words = prefix.split(/\s+/).filter(Boolean);
  const starts = words.length > 0 && words.every((word, i) => args[i] === word);
  return args.slice(starts ? words.length : 1);
}
