/**
 * The `patchbay` command: one program, several roles.
 *   patchbay local     hub + router + ingress with plugins as child processes, no cluster
 *   patchbay operator  the controller against a cluster, plus the data plane
 *   patchbay exec      send a command to a running Patchbay and print the answer
 */
import { parseArgs } from "node:util";
import { execCommand } from "./exec.ts";

const USAGE = `Usage: patchbay <command> [options]

Commands:
  local [--dir DIR]            Run locally: plugins from DIR (default config/local) as child processes,
        [--host H] [--port P]  the CloudEvents ingress on H:P (default 127.0.0.1:8080) and
        [--management-port M]  /healthz, /readyz, /metrics on M (default 8081).
        [--memory-budget SIZE] Bytes of undelivered events held before /events answers 503
                               (default $PATCHBAY_MEMORY_BUDGET or 128Mi; e.g. 256Mi, 1Gi).
        [--notifier-queue-bytes SIZE]
                               Bytes one notifier's queue holds before dropping its oldest
                               (default $PATCHBAY_NOTIFIER_QUEUE_BYTES or 32Mi).
        [--executor-concurrency N] [--executor-queue N]
                               Commands in flight / waiting per executor (default
                               $PATCHBAY_EXECUTOR_CONCURRENCY or 8, $PATCHBAY_EXECUTOR_QUEUE or 32).
        [--event-bus URL]      Store events in NATS JetStream (nats://HOST:PORT) before answering 202;
                               default: held in memory, lost on a crash.
  operator                     Run the operator against the cluster (in-cluster config or KUBECONFIG).
  exec "<command>"             Run a command through a running Patchbay and print the answer.
       [--url URL]             Where Patchbay listens (default $PATCHBAY_URL or http://127.0.0.1:8080).
       [--token TOKEN]         Bearer token, if the ingress requires one (default $PATCHBAY_TOKEN).
  dead-letters list|replay     The event bus's dead letters: list them, or hand them back to their
       --event-bus URL         notifier (NATS JetStream; default $PATCHBAY_EVENT_BUS).
       [--notifier NAME]       Only this notifier's. [--limit N] at most N (default 100).
       [--output text|json]
  version                      Print the version.

Exit codes: 0 success; 1 the command ran but did not succeed; 2 usage error; 3 Patchbay unreachable.`;

export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "local": {
      const { values } = parseArgs({
        args: rest,
        options: {
          dir: { type: "string", default: "config/local" },
          host: { type: "string", default: "127.0.0.1" },
          port: { type: "string", default: "8080" },
          "management-port": { type: "string", default: "8081" },
          "memory-budget": { type: "string" },
          "notifier-queue-bytes": { type: "string" },
          "executor-concurrency": { type: "string" },
          "executor-queue": { type: "string" },
          "event-bus": { type: "string" },
        },
      });
      const limits = await localLimits(values);
      const { runLocal } = await import("../local/index.ts");
      await runLocal({
        directory: values.dir,
        host: values.host,
        port: port(values.port, "--port"),
        managementPort: port(values["management-port"], "--management-port"),
        limits,
        eventBus: values["event-bus"],
      });
      return EXIT.ok;
    }
    case "operator": {
      const { runOperator } = await import("../operator/index.ts");
      await runOperator();
      return EXIT.ok;
    }
    case "exec": {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { url: { type: "string" }, token: { type: "string" } },
      });
      if (positionals.length === 0)
        throw new UsageError('exec needs a command, e.g. patchbay exec "echo hello"');
      return execCommand({
        command: positionals.join(" "),
        url: values.url ?? process.env.PATCHBAY_URL ?? "http://127.0.0.1:8080",
        token: values.token ?? process.env.PATCHBAY_TOKEN,
      });
    }
    case "dead-letters": {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          "event-bus": { type: "string" },
          notifier: { type: "string" },
          limit: { type: "string" },
          output: { type: "string" },
        },
      });
      const { deadLettersCommand } = await import("./dead-letters.ts");
      return deadLettersCommand({
        action: positionals[0],
        eventBus: values["event-bus"],
        notifier: values.notifier,
        limit: values.limit,
        output: values.output,
      });
    }
    case "version":
    case "--version": {
      // Imported rather than read by path, so that the compiled build (dist/) carries its own copy.
      const { default: pkg } = await import("../../package.json", {
        with: { type: "json" },
      });
      console.log(pkg.version);
      return EXIT.ok;
    }
    case undefined:
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return command === undefined ? EXIT.usage : EXIT.ok;
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

class UsageError extends Error {}

/** The limits given as flags; those not given are left to the environment and the defaults. */
async function localLimits(values: Record<string, string | boolean | undefined>) {
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
