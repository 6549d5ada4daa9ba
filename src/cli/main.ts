/**
 * The `patchbay` command: one program, several roles.
 *   patchbay local     hub + router + ingress with plugins as child processes, no cluster
 *   patchbay operator  the controller against a cluster, plus the data plane
 *   patchbay exec      send a command to a running Patchbay and print the answer
 *
 * Each subcommand is declared once in COMMANDS: its options (with their help), the environment
 * variables it reads, and what it runs. `--help` is derived from that table, so a new option is added
 * in one place and is documented by the same stroke.
 */
import { parseArgs } from "node:util";
import { execCommand } from "./exec.ts";
import { checkManifestDirectory, resolveOutput } from "./local-checks.ts";

export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

class UsageError extends Error {}

interface OptionSpec {
  type: "string" | "boolean";
  /** Shown after the flag in --help, e.g. DIR. */
  placeholder?: string;
  /** Given to parseArgs; the help shows it too. */
  default?: string;
  description: string;
}

type OptionValues = Record<string, string | boolean | undefined>;

interface CommandSpec {
  summary: string;
  /** What follows `patchbay <name>` in the usage line. */
  arguments: string;
  /** Said after the usage line: what the command does, in a few lines. */
  details?: string;
  options: Record<string, OptionSpec>;
  /** Environment variables the command reads, with what they do. */
  environment: Record<string, string>;
  allowPositionals?: boolean;
  run(values: OptionValues, positionals: string[]): Promise<number>;
}

const LOGGING_ENVIRONMENT = {
  PATCHBAY_LOG_LEVEL: "error, warn, info (default) or debug.",
  PATCHBAY_LOG_FORMAT: "json or text (logs go to stderr).",
};

const COMMANDS: Record<string, CommandSpec> = {
  local: {
    summary: "Run Patchbay locally, no cluster: plugins as child processes.",
    arguments: "[options]",
    details:
      "Reads SourcePlugin, ExecutorPlugin and Notifier manifests from --dir, starts their plugins as child\n" +
      "processes, serves the CloudEvents ingress and /commands, and prints events to stdout: one readable\n" +
      "line each on a terminal, JSON lines otherwise (or as --output says). Logs go to stderr. Ctrl-C stops\n" +
      "it, delivering what is queued (up to 10 s).",
    options: {
      dir: {
        type: "string",
        placeholder: "DIR",
        default: "config/local",
        description: "Folder of manifests (*.yaml, *.yml).",
      },
      host: {
        type: "string",
        placeholder: "HOST",
        default: "127.0.0.1",
        description: "Address to listen on.",
      },
      port: {
        type: "string",
        placeholder: "PORT",
        default: "8080",
        description: "Ingress port (0: any free).",
      },
      "management-port": {
        type: "string",
        placeholder: "PORT",
        default: "8081",
        description: "/healthz, /readyz and /metrics port (0: any free).",
      },
      output: {
        type: "string",
        placeholder: "FORMAT",
        description:
          "text (one readable line per event) or json (one CloudEvent per line).\n" +
          "Default $PATCHBAY_OUTPUT, else text on a terminal and json otherwise.",
      },
      "memory-budget": {
        type: "string",
        placeholder: "SIZE",
        description:
          "Bytes of undelivered events held before /events answers 503\n(default $PATCHBAY_MEMORY_BUDGET or 128Mi; e.g. 256Mi, 1Gi).",
      },
      "notifier-queue-bytes": {
        type: "string",
        placeholder: "SIZE",
        description:
          "Bytes one notifier's queue holds before dropping its oldest\n(default $PATCHBAY_NOTIFIER_QUEUE_BYTES or 32Mi).",
      },
      "executor-concurrency": {
        type: "string",
        placeholder: "N",
        description: "Commands in flight per executor (default $PATCHBAY_EXECUTOR_CONCURRENCY or 8).",
      },
      "executor-queue": {
        type: "string",
        placeholder: "N",
        description: "Commands waiting per executor (default $PATCHBAY_EXECUTOR_QUEUE or 32).",
      },
      "event-bus": {
        type: "string",
        placeholder: "URL",
        description:
          "Store events in NATS JetStream (nats://HOST:PORT) before answering 202\n(default: held in memory, lost on a crash).",
      },
      "cluster-name": {
        type: "string",
        placeholder: "NAME",
        description:
          "The cluster's name, shown in every notification (default $PATCHBAY_CLUSTER_NAME;\nunset: none).",
      },
    },
    environment: {
      PATCHBAY_OUTPUT: "text or json: the default of --output.",
      ...LOGGING_ENVIRONMENT,
      PATCHBAY_INGRESS_TOKENS: "Bearer tokens the ingress accepts, comma-separated (default: none, open).",
      PATCHBAY_INGRESS_TOKENS_FILE: "A file of bearer tokens, one per line.",
      PATCHBAY_MEMORY_BUDGET: "See --memory-budget.",
      PATCHBAY_NOTIFIER_QUEUE_BYTES: "See --notifier-queue-bytes.",
      PATCHBAY_EXECUTOR_CONCURRENCY: "See --executor-concurrency.",
      PATCHBAY_EXECUTOR_QUEUE: "See --executor-queue.",
      PATCHBAY_CLUSTER_NAME: "See --cluster-name.",
      NO_COLOR: "Set to print without colour.",
    },
    async run(values) {
      const output = resolveOutput(values.output as string | undefined);
      if (typeof output === "string") throw new UsageError(output);
      const directoryProblem = await checkManifestDirectory(values.dir as string);
      if (directoryProblem) throw new UsageError(directoryProblem);
      const limits = await localLimits(values);
      const clusterName = await localClusterName(values);
      const [{ runLocal }, { createLogger, logFormatFromEnvironment }, { EventOutput }] = await Promise.all([
        import("../local/index.ts"),
        import("../observability/logger.ts"),
        import("../notifiers/log.ts"),
      ]);
      let logFormat;
      try {
        // A person reading events at a terminal reads the logs there too.
        logFormat = logFormatFromEnvironment(output.format === "text" ? "text" : "json");
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      const log = createLogger("patchbay", undefined, logFormat);
      // Plugins inherit the environment and log JSON (the SDK's format) to the same terminal: at a
      // terminal only their warnings and errors are shown, unless PATCHBAY_LOG_LEVEL asks for more.
      if (logFormat === "text" && !process.env.PATCHBAY_LOG_LEVEL) process.env.PATCHBAY_LOG_LEVEL = "warn";
      await runLocal({
        directory: values.dir as string,
        host: values.host as string,
        port: port(values.port as string, "--port"),
        managementPort: port(values["management-port"] as string, "--management-port"),
        limits,
        eventBus: values["event-bus"] as string | undefined,
        clusterName,
        log,
        logStream: new EventOutput(process.stdout, output.format),
      });
      return EXIT.ok;
    },
  },
  operator: {
    summary: "Run the operator against a cluster (in-cluster config or KUBECONFIG).",
    arguments: "",
    details:
      "Checks first that the cluster answers (waiting up to $PATCHBAY_STARTUP_TIMEOUT_SECONDS, default 10)\n" +
      "and has Patchbay's CRDs, and stops with the reason if not. Then reconciles SourcePlugins,\n" +
      "ExecutorPlugins, Notifiers and Actions and serves the ingress. Configured by environment\n" +
      "variables only.",
    options: {},
    environment: {
      KUBECONFIG: "Kubeconfig file(s); in a Pod the in-cluster config is used.",
      PATCHBAY_STARTUP_TIMEOUT_SECONDS: "How long to wait for the cluster at start (default 10).",
      PATCHBAY_WATCH_NAMESPACE: "Watch one namespace (default: all).",
      POD_NAMESPACE:
        "Patchbay's own namespace: the Lease and sidecars (default: the context's, else patchbay-system).",
      POD_NAME: "This replica's name in leader election, plus a random suffix (default: the hostname).",
      PATCHBAY_HOST: "Address to listen on (default 0.0.0.0).",
      PATCHBAY_INGRESS_PORT: "Ingress port (default 8080).",
      PATCHBAY_MANAGEMENT_PORT: "/healthz, /readyz and /metrics port (default 8081).",
      PATCHBAY_INGRESS_TOKENS: "Bearer tokens the ingress accepts, comma-separated.",
      PATCHBAY_INGRESS_TOKENS_SECRET: "A Secret (key tokens) in POD_NAMESPACE with more; created if missing.",
      PATCHBAY_INGRESS_ALLOW_ANONYMOUS: "true to serve /events, /sources and /commands without tokens.",
      PATCHBAY_LEASE_DURATION_SECONDS: "Leader election (default 15).",
      PATCHBAY_RENEW_DEADLINE_SECONDS: "Leader election (default 10).",
      PATCHBAY_RETRY_PERIOD_SECONDS: "Leader election (default 2).",
      PATCHBAY_RECONCILE_WORKERS: "Reconciles in flight per controller (default 4).",
      PATCHBAY_DRAIN_MS: "How long shutdown may spend delivering queued events (default 20000).",
      PATCHBAY_MEMORY_BUDGET: "Bytes of undelivered events held (default 128Mi).",
      PATCHBAY_NOTIFIER_QUEUE_BYTES: "Bytes per notifier queue (default 32Mi).",
      PATCHBAY_EXECUTOR_CONCURRENCY: "Commands in flight per executor (default 8).",
      PATCHBAY_EXECUTOR_QUEUE: "Commands waiting per executor (default 32).",
      PATCHBAY_EVENT_BUS:
        "nats://HOST:PORT[,…]: store events in NATS JetStream (credentials: PATCHBAY_EVENT_BUS_USER, _PASSWORD, _TOKEN, _CREDS).",
      PATCHBAY_CLUSTER_NAME: "The cluster's name, shown in every notification (default: none).",
      ...LOGGING_ENVIRONMENT,
    },
    async run() {
      const { runOperator } = await import("../operator/index.ts");
      await runOperator();
      return EXIT.ok;
    },
  },
  exec: {
    summary: "Run a command through a running Patchbay and print the answer.",
    arguments: '[options] "<command>"',
    details:
      'Example: patchbay exec "echo hello". Exit codes: 0 success; 1 the command ran but did not succeed\n' +
      "(unknown prefix, forbidden, failed, timed out: the reason is printed); 2 usage error; 3 Patchbay\n" +
      "cannot be reached.",
    options: {
      url: {
        type: "string",
        placeholder: "URL",
        description: "Where Patchbay listens (default $PATCHBAY_URL or http://127.0.0.1:8080).",
      },
      token: {
        type: "string",
        placeholder: "TOKEN",
        description: "Bearer token, if the ingress requires one (default $PATCHBAY_TOKEN).",
      },
    },
    environment: { PATCHBAY_URL: "See --url.", PATCHBAY_TOKEN: "See --token." },
    allowPositionals: true,
    async run(values, positionals) {
      if (positionals.length === 0)
        throw new UsageError('exec needs a command, e.g. patchbay exec "echo hello"');
      return execCommand({
        command: positionals.join(" "),
        url: (values.url as string | undefined) ?? process.env.PATCHBAY_URL ?? "http://127.0.0.1:8080",
        token: (values.token as string | undefined) ?? process.env.PATCHBAY_TOKEN,
      });
    },
  },
  "dead-letters": {
    summary: "List or replay the event bus's dead letters (NATS JetStream).",
    arguments: "list|replay --event-bus URL [options]",
    details:
      "list prints them oldest first (when, notifier, attempts, source/id, reason); replay hands them back\n" +
      "to their notifier only, with a fresh count of retries, and removes them from the dead letters.",
    options: {
      "event-bus": {
        type: "string",
        placeholder: "URL",
        description: "The deployment's NATS JetStream, nats://HOST:PORT (default $PATCHBAY_EVENT_BUS).",
      },
      notifier: { type: "string", placeholder: "NAME", description: "Only this notifier's dead letters." },
      limit: { type: "string", placeholder: "N", description: "At most N, oldest first (default 100)." },
      output: {
        type: "string",
        placeholder: "FORMAT",
        description: "text (default) or json (one per line).",
      },
    },
    environment: {
      PATCHBAY_EVENT_BUS: "See --event-bus.",
      PATCHBAY_EVENT_BUS_USER: "Credentials, with _PASSWORD; or PATCHBAY_EVENT_BUS_TOKEN or _CREDS (a file).",
    },
    allowPositionals: true,
    async run(values, positionals) {
      const { deadLettersCommand } = await import("./dead-letters.ts");
      return deadLettersCommand({
        action: positionals[0],
        eventBus: values["event-bus"] as string | undefined,
        notifier: values.notifier as string | undefined,
        limit: values.limit as string | undefined,
        output: values.output as string | undefined,
      });
    },
  },
  version: {
    summary: "Print the version.",
    arguments: "",
    options: {},
    environment: {},
    async run() {
      // Imported rather than read by path, so that the compiled build (dist/) carries its own copy.
      const { default: pkg } = await import("../../package.json", { with: { type: "json" } });
      console.log(pkg.version);
      return EXIT.ok;
    },
  },
};

const HELP_OPTION: OptionSpec = { type: "boolean", description: "Show this help." };

function overview(): string {
  const names = Object.keys(COMMANDS);
  const width = Math.max(...names.map((name) => name.length)) + 2;
  return [
    "Usage: patchbay <command> [options]",
    "",
    "Commands:",
    ...names.map((name) => `  ${name.padEnd(width)}${COMMANDS[name]!.summary}`),
    `  ${"help".padEnd(width)}Show this help; 'patchbay <command> --help' shows a command's options.`,
    "",
    "Exit codes: 0 success; 1 the command ran but did not succeed; 2 usage error; 3 Patchbay unreachable.",
  ].join("\n");
}

function commandHelp(name: string, spec: CommandSpec): string {
  const options = Object.entries({ ...spec.options, help: HELP_OPTION }).map(([flag, option]) => {
    const label = `${flag === "help" ? "-h, " : ""}--${flag}${option.placeholder ? ` ${option.placeholder}` : ""}`;
    const defaultNote = option.default === undefined ? "" : ` Default: ${option.default}.`;
    return [label, `${option.description}${defaultNote}`] as const;
  });
  const environment = Object.entries(spec.environment);
  const width = Math.max(...[...options, ...environment].map(([label]) => label.length)) + 2;
  const rows = (entries: readonly (readonly [string, string])[]) =>
    entries.map(
      ([label, text]) => `  ${label.padEnd(width)}${text.split("\n").join(`\n  ${" ".repeat(width)}`)}`,
    );
  return [
    `Usage: patchbay ${name}${spec.arguments ? ` ${spec.arguments}` : ""}`,
    "",
    spec.summary,
    ...(spec.details ? ["", spec.details] : []),
    "",
    "Options:",
    ...rows(options),
    ...(environment.length > 0 ? ["", "Environment:", ...rows(environment)] : []),
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    // `patchbay help local` is `patchbay local --help`.
    const topic = name === "help" ? rest[0] : undefined;
    if (topic !== undefined) {
      const spec = COMMANDS[topic];
      if (!spec) throw new UsageError(`unknown command '${topic}'`);
      console.log(commandHelp(topic, spec));
    } else console.log(overview());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === "--version") return COMMANDS.version!.run({}, []);
  const spec = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!spec) throw new UsageError(`unknown command '${name}'`);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: spec.allowPositionals ?? false,
    options: {
      ...Object.fromEntries(
        Object.entries(spec.options).map(([flag, option]) => [
          flag,
          option.default === undefined
            ? { type: option.type }
            : { type: option.type, default: option.default },
        ]),
      ),
      help: { type: "boolean", short: "h" },
    },
  });
  // Help wins over everything else on the line: nothing starts.
  if (values.help) {
    console.log(commandHelp(name, spec));
    return EXIT.ok;
  }
  return spec.run(values, positionals);
}

/** The limits given as flags; those not given are left to the environment and the defaults. */
/** --cluster-name, else $PATCHBAY_CLUSTER_NAME; a malformed name is a usage error. */
async function localClusterName(values: OptionValues): Promise<string | undefined> {
  const { clusterNameOf } = await import("../app/index.ts");
  const flag = values["cluster-name"];
  try {
    return typeof flag === "string"
      ? clusterNameOf(flag, "--cluster-name")
      : clusterNameOf(process.env.PATCHBAY_CLUSTER_NAME, "PATCHBAY_CLUSTER_NAME");
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

async function localLimits(values: OptionValues) {
  const { LimitError, parseByteSize, parseCount } = await import("../app/index.ts");
  const flag = (name: string) => (typeof values[name] === "string" ? values[name] : undefined);
  const limits: Record<string, number> = {};
  try {
    const budget = flag("memory-budget");
    if (budget !== undefined) limits.memoryBudgetBytes = parseByteSize(budget, "--memory-budget");
    const queueBytes = flag("notifier-queue-bytes");
    if (queueBytes !== undefined)
      limits.notifierQueueBytes = parseByteSize(queueBytes, "--notifier-queue-bytes");
    const concurrency = flag("executor-concurrency");
    if (concurrency !== undefined)
      limits.executorConcurrency = parseCount(concurrency, "--executor-concurrency", 1);
    const queue = flag("executor-queue");
    if (queue !== undefined) limits.executorQueue = parseCount(queue, "--executor-queue", 0);
  } catch (err) {
    if (err instanceof LimitError) throw new UsageError(err.message);
    throw err;
  }
  return limits;
}

function port(value: string, flag: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || number > 65535)
    throw new UsageError(`${flag} must be a port number (got '${value}')`);
  return number;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  // parseArgs reports unknown or malformed options with codes starting ERR_PARSE_ARGS.
  const usage =
    err instanceof UsageError || String((err as NodeJS.ErrnoException).code).startsWith("ERR_PARSE_ARGS");
  console.error(`patchbay: ${(err as Error).message}`);
  if (usage) console.error(`Run 'patchbay help' for usage.`);
  process.exitCode = usage ? EXIT.usage : EXIT.failed;
}
