/**
 * `patchbay dead-letters list|replay --event-bus nats://… [--notifier N]`: what the JetStream bus gave
 * up on after a notifier's last retry (or a permanent failure), and handing it back to that notifier.
 *
 * It reads and replays only: the streams are neither created nor reconfigured from here, so running it
 * with other settings than the deployment's (replicas, limits) changes nothing of the deployment.
 */
import type { DeadLetter } from "../bus/index.ts";

const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

export interface DeadLettersOptions {
  /** "list" or "replay". */
  action: string | undefined;
  /** nats://HOST:PORT (comma-separated for several servers); default $PATCHBAY_EVENT_BUS. */
  eventBus: string | undefined;
  notifier?: string;
  /** At most this many, oldest first (default 100). */
  limit?: string;
  /** text (default) or json (one dead letter per line). */
  output?: string;
}

export const DEAD_LETTERS_USAGE = `Usage: patchbay dead-letters list|replay --event-bus URL [--notifier NAME] [--limit N] [--output text|json]

  list     Print the dead letters, oldest first: when, notifier, attempts, source/id and the reason.
  replay   Hand them back to their notifier (only that one), with a fresh count of retries, and
           remove them from the dead letters.

  --event-bus URL   The NATS JetStream the deployment uses (default $PATCHBAY_EVENT_BUS); credentials as
                    for the operator (PATCHBAY_EVENT_BUS_USER/_PASSWORD/_TOKEN/_CREDS).
  --notifier NAME   Only this notifier's dead letters.
  --limit N         At most N, oldest first (default 100).
  --output FORMAT   text (default) or json (one dead letter per line).`;

export async function deadLettersCommand(options: DeadLettersOptions): Promise<number> {
  const usage = (message: string) => {
    console.error(`patchbay: ${message}`);
    console.error(DEAD_LETTERS_USAGE);
    return EXIT.usage;
  };
  if (options.action !== "list" && options.action !== "replay")
    return usage(`dead-letters needs list or replay${options.action ? ` (got '${options.action}')` : ""}`);
  const url = options.eventBus ?? process.env.PATCHBAY_EVENT_BUS;
  if (!url) return usage("dead-letters needs --event-bus nats://HOST:PORT (or $PATCHBAY_EVENT_BUS)");
  const limit = options.limit === undefined ? 100 : Number(options.limit);
  if (!Number.isInteger(limit) || limit <= 0)
    return usage(`--limit must be a positive whole number (got '${options.limit}')`);
  const output = options.output ?? "text";
  if (output !== "text" && output !== "json") return usage(`--output is text or json (got '${output}')`);

  const [{ EventBusConfigError, JetStreamBus, jetStreamOptions }, { createLogger }] = await Promise.all([
    import("../bus/index.ts"),
    import("../observability/logger.ts"),
  ]);
  let busOptions;
  try {
    busOptions = jetStreamOptions(url);
  } catch (error) {
    if (error instanceof EventBusConfigError) return usage(error.message);
    throw error;
  }
  let bus;
  try {
    bus = await JetStreamBus.open({
      ...busOptions,
      manageStreams: false,
      log: createLogger("patchbay", "error"),
    });
  } catch (error) {
    console.error(`patchbay: cannot reach the event bus: ${(error as Error).message}`);
    return EXIT.unreachable;
  }
  try {
    const filter = { notifier: options.notifier, limit };
    if (options.action === "list") {
      const letters = await bus.deadLetters(filter);
      if (output === "json") for (const letter of letters) console.log(JSON.stringify(letter));
      else if (letters.length === 0) console.log("No dead letters.");
      else for (const letter of letters) console.log(textLine(letter));
      return EXIT.ok;
    }
    const replayed = await bus.replayDeadLetters(filter);
    if (output === "json") for (const letter of replayed) console.log(JSON.stringify(letter));
    else {
      for (const letter of replayed) console.log(`replayed ${textLine(letter)}`);
      console.log(`${replayed.length} dead letter${replayed.length === 1 ? "" : "s"} replayed.`);
    }
    return EXIT.ok;
  } catch (error) {
    console.error(`patchbay: ${(error as Error).message}`);
    return EXIT.failed;
  } finally {
    await bus.close();
  }
}

function textLine(letter: DeadLetter): string {
  return [
    letter.time.toISOString(),
    letter.notifier,
    `attempts=${letter.attempts}`,
    `${letter.event.source}/${letter.event.id}`,
    letter.reason,
  ].join("  ");
}
