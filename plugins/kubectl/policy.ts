/**
 * What the kubectl executor lets through. Everything is checked BEFORE anything runs: the verb, every
 * flag (an allow-list; flags that change identity or target get their own reason), the resources and
 * the namespaces. Shell metacharacters are refused too, although no shell is ever used.
 */

/** Refused even when `resources` is empty or lists them: printing them to a chat channel leaks credentials. */
export const DEFAULT_DENIED_RESOURCES = ["secrets"];

export interface KubectlPolicy {
  verbs: string[];
  /** Empty: any resource. */
  resources: string[];
  /** Always refused, whatever `resources` says; short names and singulars match too. */
  deniedResources: string[];
  /** Empty: any namespace. */
  namespaces: string[];
  /** Added as `-n <namespace>` when a command names none; needed when `namespaces` is set. */
  defaultNamespace?: string;
}

export const READ_ONLY_VERBS = [
  "get",
  "describe",
  "logs",
  "top",
  "explain",
  "api-resources",
  "api-versions",
  "version",
];

/** A reason to refuse, phrased for the person who typed the command. */
export class Refusal extends Error {
  override name = "Refusal";
}

// Flags that would let a chat user act as someone else or talk to another cluster.
const IDENTITY_FLAGS = new Set([
  "--kubeconfig",
  "--server",
  "-s",
  "--token",
  "--as",
  "--as-group",
  "--as-uid",
  "--context",
  "--cluster",
  "--user",
  "--certificate-authority",
  "--client-key",
  "--client-certificate",
  "--insecure-skip-tls-verify",
  "--username",
  "--password",
  "--cache-dir",
  "--tls-server-name",
]);

// Flags refused with a specific reason: they never end, read local files, or can print credentials.
const DANGEROUS_FLAGS: Record<string, string> = {
  "-w": "watching never ends",
  "--watch": "watching never ends",
  "--watch-only": "watching never ends",
  "-f": "following logs or reading files is not allowed",
  "--follow": "following logs never ends",
  "--filename": "reading local files is not allowed",
  "-k": "reading local files is not allowed",
  "--kustomize": "reading local files is not allowed",
  "--template": "reading local template files is not allowed",
  "--raw": "raw API paths bypass the resource allow-list",
  "-v": "verbose logs can print credentials",
  "--v": "verbose logs can print credentials",
  "--": "arguments after -- are passed on unchecked",
};

type FlagKind = "value" | "boolean";

// Harmless flags of the read-only verbs. Booleans also accept --flag=true|false.
const ALLOWED_FLAGS: Record<string, FlagKind> = {
  "-n": "value",
  "--namespace": "value",
  "-A": "boolean",
  "--all-namespaces": "boolean",
  "-o": "value",
  "--output": "value",
  "-l": "value",
  "--selector": "value",
  "--field-selector": "value",
  "-L": "value",
  "--label-columns": "value",
  "--show-labels": "boolean",
  "--show-kind": "boolean",
  "--no-headers": "boolean",
  "--sort-by": "value",
  "--chunk-size": "value",
  "--ignore-not-found": "boolean",
  "--show-managed-fields": "boolean",
  "--show-events": "boolean",
  "-c": "value",
  "--container": "value",
  "--all-containers": "boolean",
  "--tail": "value",
  "--since": "value",
  "--since-time": "value",
  "--timestamps": "boolean",
  "-p": "boolean",
  "--previous": "boolean",
  "--prefix": "boolean",
  "--limit-bytes": "value",
  "--max-log-requests": "value",
  "--containers": "boolean",
  "--use-protocol-buffers": "boolean",
  "--recursive": "boolean",
  "--api-version": "value",
  "--namespaced": "boolean",
  "--verbs": "value",
  "--api-group": "value",
  "--cached": "boolean",
  "--client": "boolean",
  "-h": "boolean",
  "--help": "boolean",
};

// Output formats are allowed by name: kubectl keeps adding spellings of formats that read a local file
// (jsonpath-file, go-template-file, templatefile, custom-columns-file, ...), which would print it to chat.
const OUTPUT_FORMATS =
  /^(json|yaml|wide|name|(jsonpath|jsonpath-as-json|go-template|template|custom-columns)=.*)$/s;

// Defence in depth: no shell runs, but nothing that would mean something to one gets through either.
const SHELL_METACHARACTERS = /[;|&`<>\n\r\0]|\$\(|\$\{/;

// Short names and singular forms of the common kinds, so an allow-list of "pods" also covers "po".
const RESOURCE_ALIASES: Record<string, string> = {
  po: "pods",
  svc: "services",
  deploy: "deployments",
  ns: "namespaces",
  no: "nodes",
  cm: "configmaps",
  ds: "daemonsets",
  sts: "statefulsets",
  rs: "replicasets",
  ing: "ingresses",
  ingress: "ingresses",
  pvc: "persistentvolumeclaims",
  pv: "persistentvolumes",
  sa: "serviceaccounts",
  ev: "events",
  cj: "cronjobs",
  hpa: "horizontalpodautoscalers",
  ep: "endpoints",
  netpol: "networkpolicies",
  pdb: "poddisruptionbudgets",
  sc: "storageclasses",
  crd: "customresourcedefinitions",
  crds: "customresourcedefinitions",
};

// Verbs whose first positional argument is not a resource type.
const VERBS_WITHOUT_RESOURCE = new Set(["version", "api-resources", "api-versions"]);

export interface CheckedCommand {
  /** The arguments to give kubectl, after the verb's namespace default is applied. */
  args: string[];
  verb: string;
  resources: string[];
  namespace: string | undefined;
}

/** Checks kubectl arguments (without the "kubectl" itself) against the policy; throws Refusal. */
export function checkCommand(args: string[], policy: KubectlPolicy): CheckedCommand {
  for (const arg of args) {
    if (SHELL_METACHARACTERS.test(arg)) {
      throw new Refusal(`argument ${JSON.stringify(arg)} contains a shell metacharacter; refused`);
    }
  }
  const positional: string[] = [];
  let namespace: string | undefined;
  let allNamespaces = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("-") || arg === "-") {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    let value = eq > 0 ? arg.slice(eq + 1) : undefined;
    if (IDENTITY_FLAGS.has(name)) {
      throw new Refusal(`flag ${name} changes the identity or the cluster kubectl talks to; refused`);
    }
    const danger = DANGEROUS_FLAGS[name];
    if (danger) throw new Refusal(`flag ${name} is not allowed: ${danger}`);
    const kind = ALLOWED_FLAGS[name];
    if (!kind) throw new Refusal(`flag ${name} is not on the kubectl executor's allow-list of flags`);
    if (kind === "value" && value === undefined) {
      value = args[++i];
      if (value === undefined) throw new Refusal(`flag ${name} needs a value`);
      // kubectl would take it as the value, but a flag-looking value is a smuggling attempt or a typo.
      if (value.startsWith("-"))
        throw new Refusal(`flag ${name} needs a value, not the flag-like ${JSON.stringify(value)}`);
    }
    if (kind === "boolean" && value !== undefined && value !== "true" && value !== "false") {
      throw new Refusal(`flag ${name} takes true or false, not ${JSON.stringify(value)}`);
    }
    if ((name === "-o" || name === "--output") && !OUTPUT_FORMATS.test(value!)) {
      throw new Refusal(
        `output ${JSON.stringify(value)} is not allowed (file-reading formats never are); use json, yaml, wide, name, jsonpath=, jsonpath-as-json=, go-template=, template= or custom-columns=`,
      );
    }
    if (name === "-n" || name === "--namespace") namespace = value;
    if ((name === "-A" || name === "--all-namespaces") && value !== "false") allNamespaces = true;
  }

  const [verb, ...operands] = positional;
  if (verb === undefined) throw new Refusal(`no verb given; allowed verbs: ${policy.verbs.join(", ")}`);
  if (!policy.verbs.includes(verb)) {
    throw new Refusal(`verb "${verb}" is not allowed; allowed verbs: ${policy.verbs.join(", ")}`);
  }
  const resources = resourcesOf(verb, operands);
  const denied = new Set(policy.deniedResources.map(canonicalResource));
  for (const resource of resources) {
    if (denied.has(resource)) {
      throw new Refusal(
        `resource "${resource}" is always refused (deniedResources: ${policy.deniedResources.join(", ")}) so that its data is never printed to a channel`,
      );
    }
  }
  if (policy.resources.length > 0) {
    const allowed = new Set(policy.resources.map(canonicalResource));
    for (const resource of resources) {
      if (!allowed.has(resource)) {
        throw new Refusal(
          `resource "${resource}" is not allowed; allowed resources: ${policy.resources.join(", ")}`,
        );
      }
    }
  }

  const finalArgs = [...args];
  if (policy.namespaces.length > 0 && !VERBS_WITHOUT_RESOURCE.has(verb) && verb !== "explain") {
    if (allNamespaces) {
      throw new Refusal(
        `--all-namespaces is not allowed; allowed namespaces: ${policy.namespaces.join(", ")}`,
      );
    }
    if (namespace === undefined) {
      if (policy.defaultNamespace === undefined) {
        throw new Refusal(`name a namespace with -n; allowed namespaces: ${policy.namespaces.join(", ")}`);
      }
      namespace = policy.defaultNamespace;
      finalArgs.push("-n", namespace);
    }
    if (!policy.namespaces.includes(namespace)) {
      throw new Refusal(
        `namespace "${namespace}" is not allowed; allowed namespaces: ${policy.namespaces.join(", ")}`,
      );
    }
  } else if (namespace === undefined && !allNamespaces && policy.defaultNamespace !== undefined) {
    namespace = policy.defaultNamespace;
    if (!VERBS_WITHOUT_RESOURCE.has(verb) && verb !== "explain") finalArgs.push("-n", namespace);
  }
  return { args: finalArgs, verb, resources, namespace };
}

/** The resource types a command touches: "pods,svc" → [pods, services]; "deploy/web" → [deployments]. */
function resourcesOf(verb: string, operands: string[]): string[] {
  if (VERBS_WITHOUT_RESOURCE.has(verb)) return [];
  const [first] = operands;
  // `logs -l app=x` names no operand but reads pods all the same.
  if (first === undefined) return verb === "logs" ? ["pods"] : [];
  if (verb === "explain") return [canonicalResource(first.split(".")[0]!)];
  // logs takes a pod name, or TYPE/NAME for another kind.
  if (verb === "logs") return first.includes("/") ? typesOf(first.split("/")[0]!) : ["pods"];
  // get/describe also accept TYPE/NAME operands, possibly several. kubectl refuses "a,b/name", but a
  // comma there is still read as a list, so no type hides behind another.
  if (first.includes("/")) return [...new Set(operands.flatMap((o) => typesOf(o.split("/")[0]!)))];
  return [...new Set(typesOf(first))];
}

/** "pods,Secret" → [pods, secrets]. */
function typesOf(list: string): string[] {
  return list.split(",").map(canonicalResource);
}

/** "Po" → "pods", "deployment.apps" → "deployments", "pod" → "pods". */
export function canonicalResource(name: string): string {
  const lower = name.toLowerCase();
  const [type = lower] = lower.split(".");
  const alias = RESOURCE_ALIASES[type];
  if (alias) return alias;
  if (type.endsWith("s")) return type;
  if (type.endsWith("y") && !/[aeiou]y$/.test(type)) return `${type.slice(0, -1)}ies`;
  return `${type}s`;
}
