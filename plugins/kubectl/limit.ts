/**
 * A bound on the kubectl processes one executor runs at once, with a bounded queue in front: a burst of
 * commands waits its turn up to `maxQueued`, and beyond that is answered at once instead of starting
 * more processes (each kubectl costs tens of MB; 200 at once took the plugin down).
 */

export interface Limits {
  maxConcurrent: number;
  maxQueued: number;
}

/** Thrown when the queue is full: the command was not run, and may be tried again shortly. */
export class Busy extends Error {
  override name = "Busy";
}

export class ProcessLimit {
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  /**
   * Runs `task` once fewer than `limits.maxConcurrent` tasks run. Rejects with Busy when `maxQueued`
   * others already wait, and with the signal's reason when the caller gives up while waiting.
   */
  async run<T>(task: () => Promise<T>, limits: Limits, signal: AbortSignal): Promise<T> {
    if (this.#running >= limits.maxConcurrent) {
      if (this.#waiting.length >= limits.maxQueued) {
        throw new Busy(
          `the kubectl executor is at its limit: ${this.#running} kubectl processes running (maxConcurrent ${limits.maxConcurrent}) and ${this.#waiting.length} commands waiting (maxQueued ${limits.maxQueued}); try again shortly`,
        );
      }
      await this.#turn(signal);
    } else {
      this.#running++;
    }
    try {
      return await task();
    } finally {
      this.#release();
    }
  }

  /** Hands the slot to the first in line, still counted as running, so no later arrival takes it first. */
  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#running--;
  }

  /** Waits until a finishing task hands its slot over. */
  #turn(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const go = () => {
        signal.removeEventListener("abort", giveUp);
        resolve();
      };
      const giveUp = () => {
        this.#waiting.splice(this.#waiting.indexOf(go), 1);
        reject(signal.reason);
      };
      signal.addEventListener("abort", giveUp, { once: true });
      this.#waiting.push(go);
    });
  }
}
