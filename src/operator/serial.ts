/**
 * Runs one async task at a time, coalescing requests: a run() while a run is in progress queues one
 * more run, which every further request joins until it starts. So whoever calls run() gets a result
 * computed entirely after the call, and a burst of requests costs at most two runs.
 */
export class SerialRunner<T> {
  readonly #task: () => Promise<T>;
  #tail: Promise<unknown> = Promise.resolve();
  #queued: Promise<T> | undefined;

  constructor(task: () => Promise<T>) {
    this.#task = task;
  }

  run(): Promise<T> {
    if (this.#queued) return this.#queued;
    const queued = this.#tail.then(() => {
      this.#queued = undefined;
      return this.#task();
    });
    this.#queued = queued;
    this.#tail = queued.catch(() => {});
    return queued;
  }
}
