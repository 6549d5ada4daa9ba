/**
 * Turns a command line into a call to one executor: parse, expand an alias, pick the executor whose
 * prefix is the longest match, check the channel may use it, wait for one of its slots (a bounded
 * number of commands in flight per executor), call it within its timeout, trim what comes back. Every
 * way this can go wrong ends in a result with a status and a sentence that says why.
 */
import { Registry } from "prom-client";
import { accessRefusal, type PersonAccess } from "./access.ts";
import { parseCommandLine, type Word } from "./command-line.ts";
import { ExecutorSlots, type Slot, type SlotRefusal } from "./executor-slots.ts";
import { commandMetrics, type CommandMetrics } from "./metrics.ts";
import type { ExecutorAnswer, ExecutorDirectory, ExecutorInfo } from "./ports.ts";

export type CommandStatus =
  "ok" | "unknown-command" | "forbidden" | "invalid" | "unavailable" | "timeout" | "failed";

export interface CommandRequest {
  /** The command line as typed, e.g. "kubectl get pods -n default". */
  command: string;
  user?: string;
  /** The Notifier the command came through; empty from the CLI or the HTTP API. */
  notifier?: string;
  channel?: string;
  /** Executor names this channel may use; undefined means all. */
  allowedExecutors?: readonly string[];
  /**
   * What the person who asked may use, from the channel's access rules (see access.ts); narrows
   * `allowedExecutors` further and carries the Kubernetes identity executors act as. Undefined: no rules.
   */
  access?: PersonAccess;
}

export interface CommandResult {
  status: CommandStatus;
  /** The executor that handled (or refused) the command; "" when none was selected. */
  executor: string;
  output: string;
  /** True when the output was cut to the limit (a note at its end says so). */
  truncated: boolean;
  /** The executor's structured message, when it sent one. */
  message?: unknown;
  /** For people, when status is not "ok". */
  error: string;
}

export interface DispatcherOptions {
  executors: ExecutorDirectory;
  registry?: Registry;
  /** Longest output passed on, in characters. Default 16,000. */
  maxOutputChars?: number;
  /** Deadline for each executor's Help in the built-in help. Default 2 s. */
  helpTimeoutMs?: number;
  /** Extra time granted past an executor's timeout before the dispatcher stops waiting. Default 1 s. */
  timeoutGraceMs?: number;
  /** Most commands in flight at once per executor. Default 8. */
  maxConcurrentPerExecutor?: number;
  /**
   * Most commands waiting per executor for a free slot, each for up to the executor's timeout (which the
   * wait counts against); beyond that a command is answered "unavailable" at once. Default 32.
   */
  maxWaitingPerExecutor?: number;
}

export const DEFAULT_MAX_CONCURRENT_PER_EXECUTOR = 8;
export const DEFAULT_MAX_WAITING_PER_EXECUTOR = 32;

const HELP_COMMAND = "help";
/** Metric label for the built-in help; a colon cannot occur in a Kubernetes resource name. */
const HELP_LABEL = "builtin:help";

export class CommandDispatcher {
  readonly #executors: ExecutorDirectory;
  readonly #metrics: CommandMetrics;
  readonly #maxOutputChars: number;
  readonly #helpTimeoutMs: number;
  readonly #timeoutGraceMs: number;
  readonly #slots: ExecutorSlots;

  constructor(options: DispatcherOptions) {
    this.#executors = options.executors;
    this.#slots = new ExecutorSlots({
      maxInFlight: options.maxConcurrentPerExecutor ?? DEFAULT_MAX_CONCURRENT_PER_EXECUTOR,
      maxWaiting: options.maxWaitingPerExecutor ?? DEFAULT_MAX_WAITING_PER_EXECUTOR,
    });
    this.#metrics = commandMetrics(options.registry ?? new Registry(), this.#slots);
    this.#maxOutputChars = options.maxOutputChars ?? 16_000;
    this.#helpTimeoutMs = options.helpTimeoutMs ?? 2_000;
    this.#timeoutGraceMs = options.timeoutGraceMs ?? 1_000;
  }

  async dispatch(request: CommandRequest): Promise<CommandResult> {
    const started = performance.now();
    const result = await this.#dispatch(request);
    const label = result.executor || (result.status === "ok" ? HELP_LABEL : "");
    this.#metrics.commands.inc({ executor: label, result: result.status });
    if (label !== "")
      this.#metrics.duration.observe({ executor: label }, (performance.now() - started) / 1000);
    return result;
  }

  async #dispatch(request: CommandRequest): Promise<CommandResult> {
    const parsed = parseCommandLine(request.command);
    if (!parsed.ok) return failure("invalid", "", `invalid command: ${parsed.error}`);
    if (parsed.words.length === 0) return failure("invalid", "", "the command is empty; try `help`");

    const executors = this.#executors.list();
    const { command, args } = expandAlias(parsed.line, parsed.words, executors);
    // A channel (and a person in it) sees only the executors it may use: one it may not use hides
    // none that it may.
    const { allowedExecutors: channelAllows, access } = request;
    const allowed =
      channelAllows && access
        ? channelAllows.filter((name) => access.executors.includes(name))
        : (access?.executors ?? channelAllows);
    const usable = allowed ? executors.filter((executor) => allowed.includes(executor.name)) : executors;
    const match = longestPrefix(args, usable);
    if (!match) {
      if (args[0] === HELP_COMMAND) return this.#help(executors, allowed);
      const hidden = allowed && longestPrefix(args, executors);
      if (hidden) {
        const { name } = hidden.executor;
        const byChannel = !channelAllows || channelAllows.includes(name);
        return failure(
          "forbidden",
          name,
          byChannel && access
            ? accessRefusal(access, name)
            : `this channel may not use the executor "${name}" (prefix "${hidden.prefix}")`,
        );
      }
      return failure(
        "unknown-command",
        "",
        `no executor handles "${args[0]}"; try \`help\` to see the commands this channel may use`,
      );
    }
    const { executor, prefix } = match;
    if (!executor.ready) {
      return failure(
        "unavailable",
        executor.name,
        `unavailable: ${executor.reason || "the executor is not ready"}`,
      );
    }

    const waitStarted = performance.now();
    const slot = await this.#slots.acquire(executor.name, executor.timeoutMs);
    if (!isSlot(slot)) return this.#busy(executor, slot);
    // The wait counts against the executor's timeout: the caller was promised an answer within it.
    const deadlineMs = Math.max(1, Math.round(executor.timeoutMs - (performance.now() - waitStarted)));
    let answer: ExecutorAnswer;
    try {
      answer = await withDeadline(
        this.#executors.execute(
          executor.name,
          {
            command,
            args,
            prefix,
            context: {
              user: request.user ?? "",
              notifier: request.notifier ?? "",
              channel: request.channel ?? "",
              ...(access?.impersonation && { impersonation: access.impersonation }),
            },
          },
          deadlineMs,
        ),
        deadlineMs + this.#timeoutGraceMs,
      );
    } catch (err) {
      return callFailure(executor, err);
    } finally {
      // The directory honours its deadline (gRPC cancels the call), so the slot is free by then at the latest.
      slot.release();
    }
    return this.#fromAnswer(executor.name, answer);
  }

  #busy(executor: ExecutorInfo, refusal: SlotRefusal): CommandResult {
    const { maxInFlight, maxWaiting } = this.#slots.limits;
    const limits = `${maxInFlight} commands in flight per executor (PATCHBAY_EXECUTOR_CONCURRENCY) and ${maxWaiting} waiting (PATCHBAY_EXECUTOR_QUEUE)`;
    const why =
      refusal.kind === "queue-full"
        ? `"${executor.name}" is busy: it has reached the limit of ${limits}`
        : `"${executor.name}" is busy: no slot freed up within ${refusal.waitedMs} ms under the limit of ${limits}`;
    return failure("unavailable", executor.name, `unavailable: ${why}; try again shortly`);
  }

  #fromAnswer(executor: string, answer: ExecutorAnswer): CommandResult {
    const { output, truncated } = trimOutput(answer.output, this.#maxOutputChars);
    const result: CommandResult = { status: "ok", executor, output, truncated, error: "" };
    if (answer.message !== undefined) result.message = answer.message;
    switch (answer.errorCode) {
      case "ok":
        return result;
      case "forbidden":
        return {
          ...result,
          status: "forbidden",
          error: answer.errorMessage || "the executor refused the command",
        };
      case "invalid-argument":
        return {
          ...result,
          status: "invalid",
          error: answer.errorMessage || "the executor rejected the arguments",
        };
      case "timeout":
        return { ...result, status: "timeout", error: answer.errorMessage || "the command timed out" };
      default:
        return { ...result, status: "failed", error: answer.errorMessage || "the command failed" };
    }
  }

  async #help(executors: ExecutorInfo[], allowed: readonly string[] | undefined): Promise<CommandResult> {
    const usable = executors
      .filter((e) => !allowed || allowed.includes(e.name))
      .sort((a, b) => a.name.localeCompare(b.name));
    if (usable.length === 0)
      return { ...failure("ok", "", ""), output: "No commands are available in this channel." };
    const sections = await Promise.all(usable.map((e) => this.#helpSection(e)));
    const { output, truncated } = trimOutput(
      ["Commands available in this channel:", ...sections].join("\n\n"),
      this.#maxOutputChars,
    );
    return { status: "ok", executor: "", output, truncated, error: "" };
  }

  async #helpSection(executor: ExecutorInfo): Promise<string> {
    const heading = `${executor.prefixes.map((p) => `\`${p}\``).join(", ")} (${executor.name})`;
    if (!executor.ready) return `${heading}: unavailable: ${executor.reason || "not ready"}`;
    try {
      const text = await withDeadline(
        this.#executors.help(executor.name, this.#helpTimeoutMs),
        this.#helpTimeoutMs + this.#timeoutGraceMs,
      );
      return text.trim() ? `${heading}\n${text.trim()}` : heading;
    } catch (err) {
      return `${heading}: help unavailable: ${(err as Error).message}`;
    }
  }
}

function isSlot(granted: Slot | SlotRefusal): granted is Slot {
  return "release" in granted;
}

function failure(status: CommandStatus, executor: string, error: string): CommandResult {
  return { status, executor, output: "", truncated: false, error };
}

/** An alias replaces the first word only (as in a shell), once. */
function expandAlias(
  line: string,
  words: Word[],
  executors: ExecutorInfo[],
): { command: string; args: string[] } {
  const first = words[0]!;
  const args = words.map((w) => w.value);
  const command = line.trim();
  for (const executor of [...executors].sort((a, b) => a.name.localeCompare(b.name))) {
    const expansion = Object.hasOwn(executor.aliases, first.value)
      ? executor.aliases[first.value]
      : undefined;
    if (expansion === undefined) continue;
    const parsed = parseCommandLine(expansion);
    if (!parsed.ok || parsed.words.length === 0) continue;
    const rest = line.slice(first.end).trim();
    return {
      command: rest ? `${parsed.line.trim()} ${rest}` : parsed.line.trim(),
      args: [...parsed.words.map((w) => w.value), ...args.slice(1)],
    };
  }
  return { command, args };
}

/**
 * The executor whose prefix covers the most leading words. Not-ready executors count: a command meant
 * for a down executor must say so rather than fall through to one with a shorter prefix.
 */
function longestPrefix(
  args: string[],
  executors: ExecutorInfo[],
): { executor: ExecutorInfo; prefix: string } | undefined {
  let best: { executor: ExecutorInfo; prefix: string; length: number } | undefined;
  for (const executor of executors) {
    for (const prefix of executor.prefixes) {
      const words = prefix.split(/\s+/).filter(Boolean);
      if (words.length === 0 || words.length > args.length) continue;
      if (!words.every((w, i) => w === args[i])) continue;
      const better =
        !best ||
        words.length > best.length ||
        // Equal prefixes on two executors: prefer the ready one, then the name, so the choice is stable.
        (words.length === best.length &&
          (Number(executor.ready) - Number(best.executor.ready) ||
            best.executor.name.localeCompare(executor.name)) > 0);
      if (better) best = { executor, prefix: words.join(" "), length: words.length };
    }
  }
  return best && { executor: best.executor, prefix: best.prefix };
}

function callFailure(executor: ExecutorInfo, err: unknown): CommandResult {
  const code = (err as { code?: unknown })?.code;
  const message = (err as Error)?.message ?? String(err);
  if (code === "timeout") {
    return failure(
      "timeout",
      executor.name,
      `"${executor.name}" did not answer within ${executor.timeoutMs} ms`,
    );
  }
  if (code === "unavailable") return failure("unavailable", executor.name, `unavailable: ${message}`);
  return failure("failed", executor.name, `the call to "${executor.name}" failed: ${message}`);
}

/** Guards against a directory that does not honour its deadline. */
function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error(`no answer within ${ms} ms`), { code: "timeout" })),
      ms,
    );
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

function trimOutput(output: string, limit: number): { output: string; truncated: boolean } {
  if (output.length <= limit) return { output, truncated: false };
  let cut = limit;
  // Do not split a surrogate pair.
  if (cut > 0 && /[\uD800-\uDBFF]/.test(output[cut - 1]!)) cut--;
  return {
    output: `${output.slice(0, cut)}\n… output truncated: showing the first ${cut} of ${output.length} characters`,
    truncated: true,
  };
}
