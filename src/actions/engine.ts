/**
 * The action engine: every event passes through it on its way into the router. An event that no Action
 * selects is published at once (one loop over the actions, nothing allocated). For one that an Action
 * selects, the command template is filled (one argument per placeholder), storm limits are applied,
 * and the command goes through the same dispatcher as a typed one, restricted to the Action's
 * executors, so the executor's own policy is the last word. The answer is either
 *  - attached: the event itself is held until its attach-mode runs answer or their deadline passes,
 *    then published once with the answers under data.actions (whatever is there by then); or
 *  - a follow-up: a `dev.patchbay.action.result` event naming the answered event (data.answers), queued
 *    for the Action's notifiers only;
 *  - or, in button mode, nothing runs: the event offers the rendered command as a button (offers.ts).
 */
import { Counter, Histogram, type Registry } from "prom-client";
import {
  ACTION_DEFAULTS,
  ACTION_RESULT_EVENT_TYPE,
  type Action,
  type ActionResultMode,
} from "../api/v1alpha1/index.ts";
import type { CommandRequest, CommandResult, CommandStatus } from "../commands/index.ts";
import type { CloudEvent } from "../events/cloudevent.ts";
import { createLogger, type Logger } from "../observability/logger.ts";
import { THREAD_EXTENSION, threadKeyOf, withOffers, type CommandOffer } from "../notifiers/index.ts";
import { DedupWindow } from "../router/dedup.ts";
import {
  compileFilter,
  compileSources,
  SelectionError,
  type EventFilter,
  type SourceMatcher,
} from "../router/selection.ts";
import { compileTemplate, renderTemplate, type CompiledTemplate } from "./template.ts";

export const SKIP_REASONS = ["window", "concurrency", "missing-field"] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

/** What an attached or follow-up answer says of one run. */
export interface ActionAnswer {
  action: string;
  /** The command as run, each argument single-quoted. */
  command: string;
  /** The dispatcher's status, or "pending" when the attach deadline passed first. */
  status: CommandStatus | "pending";
  executor: string;
  output: string;
  truncated: boolean;
  error: string;
}

export interface ActionProblem {
  name: string;
  message: string;
}

export interface ActionEngineOptions {
  dispatch(request: CommandRequest): Promise<CommandResult>;
  /**
   * The event on its way to the notifiers (the router, with its dedup and selection). `held` is true
   * when an attach- or button-mode Action selected it: this copy, with the answers and offers (or without
   * when none came), stands for the original. With the event bus the original is stored already, so only a held copy is
   * published (see bus-stage.ts); a promise is awaited by answer().
   */
  publish(event: CloudEvent, held: boolean): unknown;
  /** To these notifiers only; returns the names it does not know. */
  publishTo(event: CloudEvent, notifiers: readonly string[]): string[] | Promise<string[]>;
  registry: Registry;
  log?: Logger;
  now?: () => number;
}

/** A run started for an event: what the answer will be about, and the answer (never rejects). */
interface Run {
  action: string;
  command: string;
  answer: Promise<ActionAnswer>;
}

interface CompiledAction {
  name: string;
  sources: SourceMatcher;
  filter: EventFilter | undefined;
  template: CompiledTemplate;
  executors: readonly string[];
  mode: ActionResultMode;
  notifiers: readonly string[];
  deadlineMs: number;
  windowMs: number;
  maxConcurrent: number;
}

/** Counters that outlive a reconfiguration of the same Action. */
interface ActionState {
  inFlight: number;
  /** subject → until when further runs for it are skipped (epoch ms). */
  window: Map<string, number>;
}

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});
/** Beyond this many remembered subjects per action, expired ones are swept on the next run. */
const WINDOW_SWEEP_AT = 1_000;

export class ActionEngine {
  readonly #options: ActionEngineOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #runs: Counter<"action" | "result">;
  readonly #skips: Counter<"action" | "reason">;
  readonly #duration: Histogram<"action" | "result">;
  /** An event re-sent with the same (source, id) is the router's duplicate: it must not run anything. */
  readonly #seen = new DedupWindow({ maxEntries: 10_000 });
  #actions: CompiledAction[] = [];
  readonly #state = new Map<string, ActionState>();
  #labels = new Map<string, Readonly<Record<string, string>>>();
  /** Events held for their attached answers, released early at shutdown. */
  readonly #held = new Set<() => void>();

  constructor(options: ActionEngineOptions) {
    this.#options = options;
    this.#log = options.log ?? createLogger("actions");
    this.#now = options.now ?? Date.now;
    this.#runs = new Counter({
      name: "patchbay_action_runs_total",
      help: "Action runs, by action and result (the dispatcher's status: ok, forbidden, invalid, unavailable, timeout, failed, unknown-command).",
      labelNames: ["action", "result"] as const,
      registers: [options.registry],
    });
    this.#skips = new Counter({
      name: "patchbay_action_skips_total",
      help: "Matching events an action did not run for, by reason: window (a run for the same subject within the window), concurrency (maxConcurrent in flight), missing-field (a placeholder's field is absent).",
      labelNames: ["action", "reason"] as const,
      registers: [options.registry],
    });
    this.#duration = new Histogram({
      name: "patchbay_action_run_duration_seconds",
      help: "Time from an action's dispatch to the executor's answer, by action and result.",
      labelNames: ["action", "result"] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [options.registry],
    });
  }

  /** The sources' labels, for label selectors (the same the router is given). */
  setSources(sources: readonly { name: string; labels?: Record<string, string> }[]): void {
    this.#labels = new Map(sources.map((source) => [source.name, Object.freeze({ ...source.labels })]));
  }

  /** Applies the Actions; one that cannot be compiled is left out and returned with the reason. */
  setActions(actions: readonly Action[]): ActionProblem[] {
    const problems: ActionProblem[] = [];
    const compiled: CompiledAction[] = [];
    for (const action of actions) {
      if (action.spec.suspend) continue;
      const name = action.metadata.name;
      try {
        compiled.push(compileAction(action));
      } catch (error) {
        problems.push({ name, message: (error as Error).message });
      }
    }
    this.#actions = compiled;
    for (const name of this.#state.keys())
      if (!compiled.some((a) => a.name === name)) this.#state.delete(name);
    return problems;
  }

  /**
   * Takes an event on its way to the router; publishes it now, or once its attached answers are in.
   * Returns at once: the producer's answer never waits for a command.
   */
  accept(event: CloudEvent): void {
    const matching = this.#matching(event);
    // The hot path: no Action wants it.
    if (matching === undefined) {
      this.#options.publish(event, false);
      return;
    }
    const duplicate = this.#seen.seen(event.source, event.id, this.#now());
    this.#take(event, matching, duplicate).catch((error: unknown) =>
      this.#log.error("an action's answer could not be published", {
        event: event.id,
        source: event.source,
        error: (error as Error).message,
      }),
    );
  }

  /**
   * Whether an attach- or button-mode Action selects the event: then the notifiers deliver the copy with
   * the answers or the offered commands instead of the original (the event bus's notifiers skip the
   * original; bus-stage.ts).
   */
  holds(event: CloudEvent): boolean {
    return this.#matching(event)?.some(changesTheNotification) ?? false;
  }

  /** Whether any Action selects the event (what the event bus's actions stage takes). */
  selects(event: CloudEvent): boolean {
    return this.#matching(event) !== undefined;
  }

  /**
   * The event bus's actions stage: runs what selects the event, and resolves once everything it leads
   * to (the held copy, the follow-ups) is published; rejects when one of those could not be, so the bus
   * hands the event out again. No dedup here: the bus stored the event once, and a redelivery means the
   * last attempt did not finish.
   */
  async answer(event: CloudEvent): Promise<void> {
    const matching = this.#matching(event);
    if (matching !== undefined) await this.#take(event, matching, false);
  }

  /** Starts the runs; resolves once the event (held or not) and every follow-up are published. */
  async #take(original: CloudEvent, matching: CompiledAction[], duplicate: boolean): Promise<void> {
    const held = matching.some(changesTheNotification);
    // A duplicate runs nothing; the router drops it anyway.
    if (duplicate) {
      await this.#options.publish(original, held);
      return;
    }
    const event = withOffers(original, this.#offers(matching, original));
    const attached: Run[] = [];
    const followUps: Promise<void>[] = [];
    let deadlineMs = 0;
    for (const action of matching) {
      if (action.mode === "button") continue;
      const run = this.#start(action, event);
      if (run === undefined) continue;
      if (action.mode === "attach") {
        attached.push(run);
        deadlineMs = Math.max(deadlineMs, action.deadlineMs);
      } else followUps.push(run.answer.then((answer) => this.#followUp(action, event, answer)));
    }
    const published =
      attached.length === 0
        ? Promise.resolve(this.#options.publish(event, held))
        : this.#publishWhenAnswered(event, attached, deadlineMs);
    await Promise.all([published, ...followUps]);
  }

  /** Publishes every held event now, with whatever answers are in (shutdown). */
  releaseHeld(): void {
    for (const release of [...this.#held]) release();
  }

  #matching(event: CloudEvent): CompiledAction[] | undefined {
    let matching: CompiledAction[] | undefined;
    const labels = this.#labels.get(event.source) ?? NO_LABELS;
    for (const action of this.#actions) {
      if (!action.sources(event.source, labels)) continue;
      if (action.filter !== undefined && !action.filter(event)) continue;
      (matching ??= []).push(action);
    }
    return matching;
  }

  /** The commands button-mode Actions offer for the event; one whose template lacks a field is skipped, counted. */
  #offers(matching: CompiledAction[], event: CloudEvent): CommandOffer[] {
    const offers: CommandOffer[] = [];
    for (const action of matching) {
      if (action.mode !== "button") continue;
      const rendered = renderTemplate(action.template, event);
      if (rendered.ok) offers.push({ label: action.name, command: rendered.command });
      else this.#skip(action, event, "missing-field", rendered.reason);
    }
    return offers;
  }

  /** Starts one run, or counts and logs why not. The promise never rejects. */
  #start(action: CompiledAction, event: CloudEvent): Run | undefined {
    const state = this.#stateOf(action.name);
    const subject = event.subject ?? "";
    const now = this.#now();
    // An event that lacks a field can never run: say so rather than blame the window or the limit.
    const rendered = renderTemplate(action.template, event);
    if (!rendered.ok) return this.#skip(action, event, "missing-field", rendered.reason);
    const until = state.window.get(subject);
    if (until !== undefined && until > now) return this.#skip(action, event, "window");
    if (state.inFlight >= action.maxConcurrent) return this.#skip(action, event, "concurrency");
    if (action.windowMs > 0) {
      if (state.window.size >= WINDOW_SWEEP_AT)
        for (const [key, expires] of state.window) if (expires <= now) state.window.delete(key);
      state.window.set(subject, now + action.windowMs);
    }
    state.inFlight++;
    const started = performance.now();
    const answer = this.#options
      .dispatch({
        command: rendered.command,
        user: `action/${action.name}`,
        allowedExecutors: action.executors,
      })
      .catch((error: unknown): CommandResult => ({
        status: "failed",
        executor: "",
        output: "",
        truncated: false,
        error: `the dispatch failed: ${(error as Error).message}`,
      }))
      .then((result) => {
        state.inFlight--;
        this.#runs.inc({ action: action.name, result: result.status });
        this.#duration.observe(
          { action: action.name, result: result.status },
          (performance.now() - started) / 1000,
        );
        const level = result.status === "ok" ? "info" : "warn";
        this.#log[level]("action ran", {
          action: action.name,
          event: event.id,
          source: event.source,
          executor: result.executor,
          result: result.status,
          error: result.error || undefined,
        });
        return {
          action: action.name,
          command: rendered.command,
          status: result.status,
          executor: result.executor,
          output: result.output,
          truncated: result.truncated,
          error: result.error,
        };
      });
    return { action: action.name, command: rendered.command, answer };
  }

  #skip(action: CompiledAction, event: CloudEvent, reason: SkipReason, detail?: string): undefined {
    this.#skips.inc({ action: action.name, reason });
    this.#log.info("action skipped", {
      action: action.name,
      event: event.id,
      source: event.source,
      subject: event.subject,
      reason,
      detail,
    });
    return undefined;
  }

  async #publishWhenAnswered(event: CloudEvent, runs: Run[], deadlineMs: number): Promise<void> {
    const answers: (ActionAnswer | undefined)[] = runs.map(() => undefined);
    const settled = runs.map((run, i) => run.answer.then((answer) => (answers[i] = answer)));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const timer = setTimeout(release, deadlineMs);
    this.#held.add(release);
    await Promise.race([Promise.all(settled), released]);
    clearTimeout(timer);
    this.#held.delete(release);
    const attached = answers.map(
      (answer, i): ActionAnswer =>
        answer ?? {
          action: runs[i]!.action,
          command: runs[i]!.command,
          status: "pending",
          executor: "",
          output: "",
          truncated: false,
          error: `no answer within ${deadlineMs / 1000} s; the notification went out without it`,
        },
    );
    await this.#options.publish(withAnswers(event, attached), true);
  }

  async #followUp(action: CompiledAction, event: CloudEvent, answer: ActionAnswer): Promise<void> {
    const followUp: CloudEvent = {
      specversion: "1.0",
      id: `${event.id}.${action.name}`,
      source: event.source,
      type: ACTION_RESULT_EVENT_TYPE,
      time: new Date(this.#now()).toISOString(),
      datacontenttype: "application/json",
      data: {
        title: `${action.name}: ${answer.command}`,
        answers: event.id,
        answersType: event.type,
        ...answer,
      },
    };
    if (event.subject !== undefined) followUp.subject = event.subject;
    if (event.severity !== undefined) followUp.severity = event.severity;
    // In the answered event's thread, on the platforms that have threads.
    const thread = threadKeyOf(event);
    if (thread !== undefined) followUp[THREAD_EXTENSION] = thread.key;
    const unknown = await this.#options.publishTo(followUp, action.notifiers);
    if (unknown.length > 0)
      this.#log.warn("action follow-up: notifiers not found", { action: action.name, notifiers: unknown });
  }

  #stateOf(name: string): ActionState {
    let state = this.#state.get(name);
    if (state === undefined) this.#state.set(name, (state = { inFlight: 0, window: new Map() }));
    return state;
  }
}

/** Attach waits for answers and button adds offers: either way the notification is not the original. */
function changesTheNotification(action: CompiledAction): boolean {
  return action.mode === "attach" || action.mode === "button";
}

/** The event with the answers under data.actions; data that is not an object moves to data.data. */
function withAnswers(event: CloudEvent, answers: unknown[]): CloudEvent {
  const data = event.data;
  const base =
    typeof data === "object" && data !== null && !Array.isArray(data)
      ? (data as Record<string, unknown>)
      : data === undefined
        ? {}
        : { data };
  return { ...event, datacontenttype: "application/json", data: { ...base, actions: answers } };
}

/** Throws with the reason when an Action cannot run (its template, pattern or selector is invalid). */
export function compileAction(action: Action): CompiledAction {
  const { spec, metadata } = action;
  const template = compileTemplate(spec.command);
  if (!template.ok) throw new SelectionError(`spec.command: ${template.problems.join("; ")}`);
  return {
    name: metadata.name,
    sources: compileSources(spec.sources),
    filter: compileFilter(spec.filter),
    template: template.template,
    executors: spec.executors,
    mode: spec.result.mode,
    notifiers: spec.result.notifiers ?? [],
    deadlineMs: (spec.result.deadlineSeconds ?? ACTION_DEFAULTS.deadlineSeconds) * 1000,
    windowMs: (spec.limits?.windowSeconds ?? ACTION_DEFAULTS.windowSeconds) * 1000,
    maxConcurrent: spec.limits?.maxConcurrent ?? ACTION_DEFAULTS.maxConcurrent,
  };
}
