/**
 * Status conditions in Knative's style: a "happy" summary condition (Ready) derived from a set of
 * dependent conditions. The summary is True when every dependent is True; otherwise it carries the
 * first False dependent's reason and message (or, with none False, the first not yet True one's,
 * as Unknown). lastTransitionTime moves only when a condition's status changes; every condition
 * written carries the generation it was computed for.
 */
import type { Condition, ConditionStatus } from "../api/v1alpha1/index.ts";

export interface ConditionManager {
  markTrue(type: string, reason?: string, message?: string): void;
  markFalse(type: string, reason: string, message: string): void;
  markUnknown(type: string, reason: string, message: string): void;
  get(type: string): Condition | undefined;
  /** True when the happy condition is True. */
  isHappy(): boolean;
  /** Sets every dependent not yet reported, and the happy condition, to Unknown. */
  initialize(): void;
}

export interface ConditionSetOptions {
  /** The clock for lastTransitionTime (tests pass a fake one). */
  now?: () => Date;
}

/** metav1.Time: RFC 3339 with whole seconds. */
function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, "Z");
}

export class ConditionSet {
  readonly happy: string;
  readonly dependents: readonly string[];
  readonly #now: () => Date;

  constructor(happy: string, dependents: string[], opts: ConditionSetOptions = {}) {
    if (dependents.includes(happy)) throw new Error(`the happy condition ${happy} cannot depend on itself`);
    this.happy = happy;
    this.dependents = [...dependents];
    this.#now = opts.now ?? (() => new Date());
  }

  /** Manages `status.conditions` in place for an object at `generation`. */
  manage(status: { conditions?: Condition[] }, generation: number): ConditionManager {
    return new StatusConditions(this, status, generation, this.#now);
  }
}

class StatusConditions implements ConditionManager {
  readonly #set: ConditionSet;
  readonly #status: { conditions?: Condition[] };
  readonly #generation: number;
  readonly #now: () => Date;

  constructor(set: ConditionSet, status: { conditions?: Condition[] }, generation: number, now: () => Date) {
    this.#set = set;
    this.#status = status;
    this.#generation = generation;
    this.#now = now;
  }

  get(type: string): Condition | undefined {
    return this.#status.conditions?.find((condition) => condition.type === type);
  }

  isHappy(): boolean {
    return this.get(this.#set.happy)?.status === "True";
  }

  markTrue(type: string, reason = type, message = ""): void {
    this.#mark(type, "True", reason, message);
  }

  markFalse(type: string, reason: string, message: string): void {
    this.#mark(type, "False", reason, message);
  }

  markUnknown(type: string, reason: string, message: string): void {
    this.#mark(type, "Unknown", reason, message);
  }

  initialize(): void {
    for (const type of this.#set.dependents) {
      if (!this.get(type)) this.#write(type, "Unknown", "Initializing", `${type} has not been checked yet`);
    }
    this.#deriveHappy();
  }

  #mark(type: string, status: ConditionStatus, reason: string, message: string): void {
    this.#write(type, status, reason, message);
    if (this.#set.dependents.includes(type)) this.#deriveHappy();
  }

  #deriveHappy(): void {
    const dependents = this.#set.dependents.map(
      (type) =>
        this.get(type) ?? {
          type,
          status: "Unknown" as const,
          reason: "Initializing",
          message: `${type} has not been checked yet`,
        },
    );
    const failing =
      dependents.find((condition) => condition.status === "False") ??
      dependents.find((condition) => condition.status !== "True");
    if (!failing) this.#write(this.#set.happy, "True", this.#set.happy, "");
    else this.#write(this.#set.happy, failing.status, failing.reason, failing.message);
  }

  #write(type: string, status: ConditionStatus, reason: string, message: string): void {
    const conditions = (this.#status.conditions ??= []);
    const existing = conditions.find((condition) => condition.type === type);
    const lastTransitionTime =
      existing && existing.status === status ? existing.lastTransitionTime : timestamp(this.#now());
    const condition: Condition = {
      type,
      status,
      reason,
      message,
      lastTransitionTime,
      observedGeneration: this.#generation,
    };
    if (existing) Object.assign(existing, condition);
    else if (type === this.#set.happy) conditions.unshift(condition);
    else conditions.push(condition);
  }
}
