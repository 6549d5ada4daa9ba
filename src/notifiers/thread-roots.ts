/**
 * Where each open chat thread starts: thread key (threads.ts) → the root message's place. In this
 * process's memory (ThreadRoots), or with the event bus in a map every replica shares (the data plane
 * chooses), so a thread's next event is threaded wherever it is delivered.
 */
export interface ThreadStore<Root> {
  get(key: string): Root | undefined | Promise<Root | undefined>;
  set(key: string, root: Root): void | Promise<void>;
  delete(key: string): void | Promise<void>;
}

/**
 * The thread store in this process's memory only, bounded: past `capacity` threads the least recently used is forgotten, and its
 * next event starts a new thread. A restart, or another replica delivering the next event of a thread,
 * also starts a new one; the messages themselves are never lost.
 */
export class ThreadRoots<Root> implements ThreadStore<Root> {
  readonly #capacity: number;
  /** Map iteration order is insertion order: re-inserting on use keeps the least recently used first. */
  readonly #roots = new Map<string, Root>();

  constructor(capacity = 10_000) {
    this.#capacity = Math.max(1, capacity);
  }

  get(key: string): Root | undefined {
    const root = this.#roots.get(key);
    if (root !== undefined) {
      this.#roots.delete(key);
      this.#roots.set(key, root);
    }
    return root;
  }

  set(key: string, root: Root): void {
    this.#roots.delete(key);
    this.#roots.set(key, root);
    if (this.#roots.size > this.#capacity) this.#roots.delete(this.#roots.keys().next().value!);
  }

  delete(key: string): void {
    this.#roots.delete(key);
  }

  get size(): number {
    return this.#roots.size;
  }
}
