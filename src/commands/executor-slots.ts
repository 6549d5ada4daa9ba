/**
 * At most `maxInFlight` commands at a time per executor, and at most `maxWaiting` waiting for one of
 * those slots; beyond that a command is refused at once. One busy or flooded executor thus costs
 * Patchbay a bounded amount of memory and sockets, and never delays commands for the others.
 */

export interface SlotLimits {
  maxInFlight: number;
  maxWaiting: number;
}

/** Why no slot was granted. */
export type SlotRefusal = { kind: "queue-full" } | { kind: "wait-timeout"; waitedMs: number };

/** A granted slot; call release() exactly once when the call is over (further calls do nothing). */
export interface Slot {
  release(): void;
}

interface Waiter {
  grant(slot: Slot): void;
}

interface ExecutorState {
  inFlight: number;
  waiting: Waiter[];
}

export class ExecutorSlots {
  readonly limits: SlotLimits;
  readonly #executors = new Map<string, ExecutorState>();

  constructor(limits: SlotLimits) {
    if (!(Number.isInteger(limits.maxInFlight) && limits.maxInFlight >= 1)) {
      throw new RangeError(
        `the executor concurrency limit must be a whole number >= 1, not ${limits.maxInFlight}`,
      );
    }
    if (!(Number.isInteger(limits.maxWaiting) && limits.maxWaiting >= 0)) {
      throw new RangeError(`the executor wait queue must be a whole number >= 0, not ${limits.maxWaiting}`);
    }
    this.limits = limits;
  }

  /** A slot now, a slot once one frees up within `maxWaitMs`, or the refusal that says why not. */
  acquire(executor: string, maxWaitMs: number): Promise<Slot | SlotRefusal> {
    const state = this.#state(executor);
    if (state.inFlight < this.limits.maxInFlight) return Promise.resolve(this.#take(executor, state));
    if (state.waiting.length >= this.limits.maxWaiting) return Promise.resolve({ kind: "queue-full" });
    return this.#wait(state, maxWaitMs);
  }

  inFlight(executor: string): number {
    return this.#executors.get(executor)?.inFlight ?? 0;
  }

  waiting(executor: string): number {
    return this.#executors.get(executor)?.waiting.length ?? 0;
  }

  /** Every executor with a command in flight or waiting. */
  *busy(): Iterable<[executor: string, inFlight: number, waiting: number]> {
    for (const [name, state] of this.#executors) yield [name, state.inFlight, state.waiting.length];
  }

  #wait(state: ExecutorState, maxWaitMs: number): Promise<Slot | SlotRefusal> {
    const started = performance.now();
    return new Promise((resolve) => {
      const waiter: Waiter = {
        grant: (slot) => {
          clearTimeout(timer);
          resolve(slot);
        },
      };
      const timer = setTimeout(() => {
        state.waiting.splice(state.waiting.indexOf(waiter), 1);
        resolve({ kind: "wait-timeout", waitedMs: Math.round(performance.now() - started) });
      }, maxWaitMs);
      state.waiting.push(waiter);
    });
  }

  #take(executor: string, state: ExecutorState): Slot {
    state.inFlight++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#handOver(executor, state);
      },
    };
  }

  /** A freed slot goes straight to the longest waiter, so a newcomer cannot overtake the queue. */
  #handOver(executor: string, state: ExecutorState): void {
    state.inFlight--;
    const next = state.waiting.shift();
    if (next !== undefined) {
      next.grant(this.#take(executor, state));
      return;
    }
    if (state.inFlight === 0) this.#executors.delete(executor);
  }

  #state(executor: string): ExecutorState {
    let state = this.#executors.get(executor);
    if (state === undefined) {
      state = { inFlight: 0, waiting: [] };
      this.#executors.set(executor, state);
    }
    return state;
  }
}
