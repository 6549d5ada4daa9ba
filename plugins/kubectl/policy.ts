/**
 * What the kubectl executor lets through. Everything is checked BEFORE anything runs, on the same
 * reading of the arguments that kubectl itself makes (cobra finds the command, pflag reads the flags):
 *
 * - the verb is the first argument (a flag before it could swallow the verb as its value: kubectl
 *   reads `-p get patch …` as `patch`), and `top` takes its sub-verb right after it;
 * - after it, every flag must be one this verb has, read with its real arity: a boolean never takes the
 *   next argument, a value flag always does; `--flag=value`, `-nVALUE`, `-n=VALUE` and clusters of short
 *   booleans (`-Ao json`) are read as pflag reads them;
 * - the resources each verb reads (including what `describe` reads besides the object) and the
 *   namespaces are then checked, for every verb alike.
 *
 * Shell metacharacters are refused too, although no shell is ever used.
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

/** A reason to refuse, phrased for the person who typed the command. */
export class Refusal extends Error {
  override name = "Refusal";
}

type Arity = "boolean" | "value";

export interface FlagSpec {
  /** The long name, without the leading `--`. */
  name: string;
  arity: Arity;
  /** The one-letter shorthand, without the leading `-`. */
  short?: string;
}

const value = (name: string, short?: string): FlagSpec => ({ name, arity: "value", short });
const boolean = (name: string, short?: string): FlagSpec => ({ name, arity: "boolean", short });

/** What kubectl makes of the positional arguments after the verb. */
type Operands =
  | "resources" // get, describe: TYPE[,TYPE…] [NAME…] or TYPE/NAME…
  | "logs" // POD or TYPE/NAME, then optionally a CONTAINER
  | "top-pods" // optionally a pod NAME
  | "top-nodes" // optionally a node NAME
  | "explain" // one TYPE[.field…]
  | "none";

interface VerbGrammar {
  /** This verb's own flags; the allowed global flags come on top. */
  flags: FlagSpec[];
  operands: Operands;
  /** The `-o` values allowed: a whole value, or a prefix where it ends in "="; only for verbs that have `-o`. */
  outputs?: string[];
  /** Whether kubectl reads namespaced objects (so `-n` or `defaultNamespace` is needed with a namespace list). */
  namespaced: boolean;
}

// Global flags (`kubectl options`) allowed after the verb. The rest are refused: identity and cluster
// flags, -v/--vmodule (verbose logs print credentials), --profile/--profile-output (write files),
// --cache-dir, --log-flush-frequency and the like.
export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  value("namespace", "n"),
  value("request-timeout"),
  boolean("help", "h"),
];

// The printing formats; never a format that reads a local file (jsonpath-file, go-template-file,
// templatefile, custom-columns-file, …), which would print that file to chat.
const GET_OUTPUTS = [
  "json",
  "yaml",
  "wide",
  "name",
  "jsonpath=",
  "jsonpath-as-json=",
  "go-template=",
  "template=",
  "custom-columns=",
];

// Each verb's flags as `kubectl <verb> --help` (v1.32) lists them, minus the refused ones: -f/--filename,
// -k/--kustomize and --template read local files, -w/--watch/--watch-only and logs -f never end,
// --raw bypasses the resource checks, --subresource and --insecure-skip-tls-verify-backend are not needed.
const VERBS = new Map<string, VerbGrammar>([
  [
    "get",
    {
      operands: "resources",
      namespaced: true,
      outputs: GET_OUTPUTS,
      flags: [
        boolean("all-namespaces", "A"),
        boolean("allow-missing-template-keys"),
        value("chunk-size"),
        value("field-selector"),
        boolean("ignore-not-found"),
        value("label-columns", "L"),
        boolean("no-headers"),
        value("output", "o"),
        boolean("output-watch-events"),
        boolean("recursive", "R"),
        value("selector", "l"),
        boolean("server-print"),
        boolean("show-kind"),
        boolean("show-labels"),
        boolean("show-managed-fields"),
        value("sort-by"),
      ],
    },
  ],
  [
    "describe",
    {
      operands: "resources",
      namespaced: true,
      flags: [
        boolean("all-namespaces", "A"),
        value("chunk-size"),
        boolean("recursive", "R"),
        value("selector", "l"),
        boolean("show-events"),
      ],
    },
  ],
  [
    "logs",
    {
      operands: "logs",
      namespaced: true,
      flags: [
        boolean("all-containers"),
        boolean("all-pods"),
        value("container", "c"),
        boolean("ignore-errors"),
        value("limit-bytes"),
        value("max-log-requests"),
        value("pod-running-timeout"),
        boolean("prefix"),
        boolean("previous", "p"),
        value("selector", "l"),
        value("since"),
        value("since-time"),
        value("tail"),
        boolean("timestamps"),
      ],
    },
  ],
  [
    "top pod",
    {
      operands: "top-pods",
      namespaced: true,
      flags: [
        boolean("all-namespaces", "A"),
        boolean("containers"),
        value("field-selector"),
        boolean("no-headers"),
        value("selector", "l"),
        value("sort-by"),
        boolean("sum"),
        boolean("use-protocol-buffers"),
      ],
    },
  ],
  [
    "top node",
    {
      operands: "top-nodes",
      namespaced: false,
      flags: [
        boolean("no-headers"),
        value("selector", "l"),
        boolean("show-capacity"),
        value("sort-by"),
        boolean("use-protocol-buffers"),
      ],
    },
  ],
  [
    "explain",
    {
      operands: "explain",
      namespaced: false,
      outputs: ["plaintext", "plaintext-openapiv2"],
      flags: [value("api-version"), value("output", "o"), boolean("recursive")],
    },
  ],
  [
    "api-resources",
    {
      operands: "none",
      namespaced: false,
      outputs: ["wide", "name"],
      flags: [
        value("api-group"),
        boolean("cached"),
        value("categories"),
        boolean("namespaced"),
        boolean("no-headers"),
        value("output", "o"),
        value("sort-by"),
        value("verbs"),
      ],
    },
  ],
  ["api-versions", { operands: "none", namespaced: false, flags: [] }],
  [
    "version",
    {
      operands: "none",
      namespaced: false,
      outputs: ["json", "yaml"],
      flags: [boolean("client"), value("output", "o")],
    },
  ],
]);

// `kubectl top` has no use of its own; cobra finds its sub-command by name or alias.
const TOP_SUB_VERBS = new Map<string | undefined, string>([
  ["pod", "top pod"],
  ["pods", "top pod"],
  ["po", "top pod"],
  ["node", "top node"],
  ["nodes", "top node"],
  ["no", "top node"],
]);

/** The verbs whose grammar the executor knows; `verbs` in the config may name only these. */
export const KNOWN_VERBS = [
  "get",
  "describe",
  "logs",
  "top",
  "explain",
  "api-resources",
  "api-versions",
  "version",
];
export const READ_ONLY_VERBS = KNOWN_VERBS;

// Flags refused with a reason of their own, by long name; shorthands map to these names.
const REFUSAL_REASONS = new Map<string | undefined, string>(
  Object.entries({
    kubeconfig: "changes the identity or the cluster kubectl talks to",
    server: "changes the identity or the cluster kubectl talks to",
    token: "changes the identity or the cluster kubectl talks to",
    as: "changes the identity or the cluster kubectl talks to",
    "as-group": "changes the identity or the cluster kubectl talks to",
    "as-uid": "changes the identity or the cluster kubectl talks to",
    context: "changes the identity or the cluster kubectl talks to",
    cluster: "changes the identity or the cluster kubectl talks to",
    user: "changes the identity or the cluster kubectl talks to",
    username: "changes the identity or the cluster kubectl talks to",
    password: "changes the identity or the cluster kubectl talks to",
    "certificate-authority": "changes the identity or the cluster kubectl talks to",
    "client-key": "changes the identity or the cluster kubectl talks to",
    "client-certificate": "changes the identity or the cluster kubectl talks to",
    "insecure-skip-tls-verify": "changes the identity or the cluster kubectl talks to",
    "tls-server-name": "changes the identity or the cluster kubectl talks to",
    "cache-dir": "changes the identity or the cluster kubectl talks to",
    watch: "watching never ends",
    "watch-only": "watching never ends",
    follow: "following logs never ends",
    filename: "reading local files is not allowed",
    kustomize: "reading local files is not allowed",
    template: "reading local template files is not allowed",
    raw: "raw API paths bypass the resource allow-list",
    v: "verbose logs can print credentials",
    vmodule: "verbose logs can print credentials",
  }),
);
const REFUSED_SHORTHANDS = new Map(
  Object.entries({ s: "server", w: "watch", f: "filename", k: "kustomize", v: "v" }),
);

// Defence in depth: no shell runs, but nothing that would mean something to one gets through either.
const SHELL_METACHARACTERS = /[;|&`<>\n\r\0]|\$\(|\$\{/;

// Short names and singular forms of the common kinds, so an allow-list of "pods" also covers "po".
const RESOURCE_ALIASES = new Map(
  Object.entries({
    po: "pods",
    svc: "services",
    deploy: "deployments",
    ns: "namespaces",
    no: "nodes",
    cm: "configmaps",
    ds: "daemonsets",
    sts: "statefulsets",
    rs: "replicasets",
    rc: "replicationcontrollers",
    ing: "ingresses",
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
  }),
);

// The built-in members of the `all` category, which kubectl expands through discovery.
const ALL_CATEGORY = [
  "pods",
  "services",
  "daemonsets",
  "deployments",
  "replicasets",
  "statefulsets",
  "replicationcontrollers",
  "jobs",
  "cronjobs",
  "horizontalpodautoscalers",
];

// What `kubectl describe TYPE` reads besides the objects (and their Events): `describe sa` lists the
// namespace's Secrets to name the tokens, `describe deploy` its ReplicaSets, and so on.
const DESCRIBE_ALSO_READS = new Map(
  Object.entries({
    serviceaccounts: ["secrets"],
    namespaces: ["resourcequotas", "limitranges"],
    deployments: ["replicasets"],
    replicasets: ["pods"],
    replicationcontrollers: ["pods"],
    statefulsets: ["pods"],
    daemonsets: ["pods"],
    jobs: ["pods"],
    services: ["endpoints", "endpointslices"],
    ingresses: ["services", "endpoints"],
    persistentvolumeclaims: ["pods"],
    nodes: ["pods", "leases"],
  }),
);

/** The commands the executor knows ("get", "top pod", …) and each one's own flags. */
export function commandFlags(): Map<string, readonly FlagSpec[]> {
  return new Map([...VERBS].map(([command, grammar]) => [command, grammar.flags]));
}

// The kinds whose `describe` reads in other namespaces than the one given.
const DESCRIBE_CROSSES_NAMESPACES = new Map([
  ["nodes", "lists the Pods of every namespace"],
  ["namespaces", "reads the quotas and limit ranges of every namespace it describes"],
]);

export interface CheckedCommand {
  /** The arguments to give kubectl, after the verb's namespace default is applied. */
  args: string[];
  /** The command as cobra finds it: "get", "top pod", … */
  command: string;
  /** Each flag as kubectl reads it, by long name, in order. */
  flags: { name: string; value: string }[];
  /** The positional arguments after the command, as kubectl reads them. */
  operands: string[];
  /** The resource types the command names (each on the allow-list, none denied). */
  resources: string[];
  /** Every resource type kubectl may read for it: `resources` plus what `describe` reads besides. */
  reads: string[];
  /** The namespace kubectl will use; undefined when it uses none or its kubeconfig's. */
  namespace: string | undefined;
  /** Whether kubectl may read in any namespace: -A, or a describe that crosses namespaces. */
  allNamespaces: boolean;
}

/** The command as kubectl reads it: which command, its flags (long names) and its positional arguments. */
interface Reading {
  command: string;
  grammar: VerbGrammar;
  flags: { name: string; value: string }[];
  operands: string[];
}

/** Checks kubectl arguments (without the "kubectl" itself) against the policy; throws Refusal. */
export function checkCommand(args: string[], policy: KubectlPolicy): CheckedCommand {
  for (const arg of args) {
    if (SHELL_METACHARACTERS.test(arg)) {
      throw new Refusal(`argument ${JSON.stringify(arg)} contains a shell metacharacter; refused`);
    }
  }
  const reading = readCommand(args, policy);
  const { command, grammar, flags, operands } = reading;

  let namespace: string | undefined;
  let allNamespaces = false;
  for (const { name, value } of flags) {
    if (name === "output" && !isAllowedOutput(value, grammar.outputs!)) {
      throw new Refusal(
        `output ${JSON.stringify(value)} is not allowed for "kubectl ${command}" (file-reading formats never are); allowed: ${grammar.outputs!.join(", ")}`,
      );
    }
    if (name === "namespace") {
      if (value === "") throw new Refusal("flag --namespace needs a namespace name");
      if (policy.namespaces.length > 0 && !policy.namespaces.includes(value)) {
        throw new Refusal(
          `namespace "${value}" is not allowed; allowed namespaces: ${policy.namespaces.join(", ")}`,
        );
      }
      namespace = value; // pflag: the last one wins
    }
    if (name === "all-namespaces") allNamespaces = value === "true";
  }

  const resources = resourcesOf(reading);
  const reads = command === "describe" ? withDescribeReads(resources) : resources;
  checkResources(resources, reads, policy);

  const crossing =
    command === "describe" ? resources.filter((type) => DESCRIBE_CROSSES_NAMESPACES.has(type)) : [];
  const finalArgs = [...args];
  if (policy.namespaces.length > 0) {
    if (allNamespaces) {
      throw new Refusal(
        `--all-namespaces is not allowed; allowed namespaces: ${policy.namespaces.join(", ")}`,
      );
    }
    for (const type of crossing) {
      throw new Refusal(
        `"kubectl describe ${type}" ${DESCRIBE_CROSSES_NAMESPACES.get(type)}; allowed namespaces: ${policy.namespaces.join(", ")}`,
      );
    }
  }
  if (grammar.namespaced && namespace === undefined && !allNamespaces) {
    if (policy.defaultNamespace !== undefined) {
      namespace = policy.defaultNamespace;
      finalArgs.push("-n", namespace);
    }
    if (policy.namespaces.length > 0 && !policy.namespaces.includes(namespace!)) {
      throw new Refusal(
        namespace === undefined
          ? `name a namespace with -n; allowed namespaces: ${policy.namespaces.join(", ")}`
          : `namespace "${namespace}" is not allowed; allowed namespaces: ${policy.namespaces.join(", ")}`,
      );
    }
  }
  return {
    args: finalArgs,
    command,
    flags,
    operands,
    resources,
    reads,
    namespace,
    allNamespaces: allNamespaces || crossing.length > 0,
  };
}

/** Finds the command the way cobra does (verb first, `top`'s sub-verb next) and reads its flags as pflag does. */
function readCommand(args: string[], policy: KubectlPolicy): Reading {
  const [verb, ...rest] = args;
  if (verb === undefined) throw new Refusal(`no verb given; allowed verbs: ${policy.verbs.join(", ")}`);
  if (verb.startsWith("-")) {
    throw new Refusal(
      `put the verb first: flags before it are refused (kubectl may read the verb as a flag's value); allowed verbs: ${policy.verbs.join(", ")}`,
    );
  }
  if (!policy.verbs.includes(verb) || !KNOWN_VERBS.includes(verb)) {
    throw new Refusal(`verb "${verb}" is not allowed; allowed verbs: ${policy.verbs.join(", ")}`);
  }
  let command = verb;
  if (verb === "top") {
    const subVerb = TOP_SUB_VERBS.get(rest[0]);
    if (subVerb === undefined) throw new Refusal(`"kubectl top" needs "pod" or "node" right after it`);
    command = subVerb;
    rest.shift();
  }
  const grammar = VERBS.get(command)!;
  const known = [...grammar.flags, ...GLOBAL_FLAGS];
  const byName = new Map(known.map((flag) => [flag.name, flag]));
  const byShorthand = new Map(known.filter((flag) => flag.short).map((flag) => [flag.short!, flag]));

  const flags: Reading["flags"] = [];
  const operands: string[] = [];
  const takeValue = (flag: FlagSpec, written: string): string => {
    const next = rest.shift();
    if (next === undefined) throw new Refusal(`flag ${written} needs a value`);
    // kubectl would take it as the value, but a flag-like value is a smuggling attempt or a typo.
    if (next.startsWith("-")) {
      throw new Refusal(`flag ${written} needs a value, not the flag-like ${JSON.stringify(next)}`);
    }
    return next;
  };
  const add = (flag: FlagSpec, written: string, value: string) => {
    if (flag.arity === "boolean" && value !== "true" && value !== "false") {
      throw new Refusal(`flag ${written} takes true or false, not ${JSON.stringify(value)}`);
    }
    flags.push({ name: flag.name, value });
  };

  while (rest.length > 0) {
    const arg = rest.shift()!;
    // pflag: "", "-" and anything not starting with "-" are positional, wherever they stand.
    if (arg.length < 2 || !arg.startsWith("-")) {
      operands.push(arg);
    } else if (arg === "--") {
      throw new Refusal("flag -- is not allowed: arguments after -- are passed on unchecked");
    } else if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const flag = knownFlag(byName.get(name), `--${name}`, name, command);
      // pflag: a boolean without "=value" is true and never takes the next argument.
      const value = eq >= 0 ? arg.slice(eq + 1) : flag.arity === "boolean" ? "true" : takeValue(flag, arg);
      add(flag, `--${name}`, value);
    } else {
      // One or more shorthands: "-A", "-Ao json", "-ojson", "-o=json", "-Aojson".
      let shorthands = arg.slice(1);
      while (shorthands.length > 0) {
        const letter = shorthands[0]!;
        const flag = knownFlag(
          byShorthand.get(letter),
          `-${letter}`,
          REFUSED_SHORTHANDS.get(letter),
          command,
        );
        let value: string;
        if (shorthands.length > 2 && shorthands[1] === "=") {
          value = shorthands.slice(2);
          shorthands = "";
        } else if (flag.arity === "boolean") {
          value = "true";
          shorthands = shorthands.slice(1);
        } else if (shorthands.length > 1) {
          value = shorthands.slice(1);
          shorthands = "";
        } else {
          value = takeValue(flag, `-${letter}`);
          shorthands = "";
        }
        add(flag, `-${letter}`, value);
      }
    }
  }
  return { command, grammar, flags, operands };
}

/** The flag if this command has it; otherwise the reason it is refused. */
function knownFlag(
  flag: FlagSpec | undefined,
  written: string,
  longName: string | undefined,
  command: string,
): FlagSpec {
  if (flag) return flag;
  const reason = REFUSAL_REASONS.get(longName);
  if (reason) throw new Refusal(`flag ${written} is not allowed: ${reason}`);
  throw new Refusal(
    `flag ${written} is not on the kubectl executor's allow-list for "kubectl ${command}"; see its README for the flags each verb accepts`,
  );
}

/** Whether `-o value` is one of these formats: "json" is a whole value, "jsonpath=" a prefix. */
function isAllowedOutput(value: string, outputs: string[]): boolean {
  return outputs.some((format) => (format.endsWith("=") ? value.startsWith(format) : value === format));
}

/** The resource types a command names: "pods,svc" → [pods, services]; "deploy/web" → [deployments]. */
function resourcesOf({ command, grammar, operands }: Reading): string[] {
  const refuseExtra = (max: number, shape: string) => {
    if (operands.length > max) {
      throw new Refusal(
        `"kubectl ${command}" takes ${shape}; refused extra ${JSON.stringify(operands[max])}`,
      );
    }
  };
  switch (grammar.operands) {
    case "none":
      refuseExtra(0, "no arguments");
      return [];
    case "top-pods":
      refuseExtra(1, "at most a pod name");
      return ["pods"];
    case "top-nodes":
      refuseExtra(1, "at most a node name");
      return ["nodes"];
    case "explain":
      refuseExtra(1, "one TYPE[.field]");
      return operands.length === 0 ? [] : [canonicalResource(operands[0]!.split(".")[0]!)];
    case "logs": {
      refuseExtra(2, "POD or TYPE/NAME, then optionally a container");
      // A pod's logs, whoever owns it: `logs deploy/web` reads the Deployment, then its Pods.
      const first = operands[0];
      return unique(["pods", ...(first?.includes("/") ? typesOf(first.split("/")[0]!) : [])]);
    }
    case "resources": {
      // TYPE[,TYPE] NAME… or TYPE/NAME…. kubectl refuses a mix, but every TYPE/ is counted all the same,
      // and a comma is read as a list, so no type hides behind another.
      const [first] = operands;
      if (first === undefined) return [];
      const named = first.includes("/") ? [] : typesOf(first);
      const slashed = operands.filter((o) => o.includes("/")).flatMap((o) => typesOf(o.split("/")[0]!));
      return unique([...named, ...slashed].flatMap((type) => (type === "all" ? ALL_CATEGORY : [type])));
    }
  }
}

function withDescribeReads(resources: string[]): string[] {
  return unique([
    ...resources,
    ...resources.flatMap((type) => DESCRIBE_ALSO_READS.get(type) ?? []),
    "events",
  ]);
}

function checkResources(resources: string[], reads: string[], policy: KubectlPolicy): void {
  const denied = new Set(policy.deniedResources.map(canonicalResource));
  for (const resource of reads) {
    if (denied.has(resource)) {
      const by = resources.includes(resource)
        ? ""
        : ` (read by "kubectl describe" for ${resources.join(", ")})`;
      throw new Refusal(
        `resource "${resource}"${by} is always refused (deniedResources: ${policy.deniedResources.join(", ")}) so that its data is never printed to a channel`,
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
}

/** "pods,Secret" → [pods, secrets]; "all" stays "all" (a category, expanded by the caller). */
function typesOf(list: string): string[] {
  return list.split(",").map((type) => (type.toLowerCase() === "all" ? "all" : canonicalResource(type)));
}

function unique(list: string[]): string[] {
  return [...new Set(list)];
}

/** "Po" → "pods", "deployment.apps" → "deployments", "pod" → "pods", "storageclass" → "storageclasses". */
export function canonicalResource(name: string): string {
  const type = name.toLowerCase().split(".")[0]!;
  const alias = RESOURCE_ALIASES.get(type);
  if (alias) return alias;
  if (type.endsWith("ss")) return `${type}es`;
  if (type.endsWith("s")) return type;
  if (type.endsWith("y") && !/[aeiou]y$/.test(type)) return `${type.slice(0, -1)}ies`;
  return `${type}s`;
}
