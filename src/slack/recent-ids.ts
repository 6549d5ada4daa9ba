/**
 * The ids seen most recently, so that a request Slack sends again (a Socket Mode envelope re-sent after a
 * drop, an Events API event retried over HTTP) runs once. Bounded: the oldest id gives way when full, so
 * memory stays flat however long the connection lives; a re-send comes within minutes, long before
 * `capacity` newer requests have pushed its id out.
 */
export class RecentIds {
  readonly #ids = new Set<string>();
  readonly #capacity: number;

  constructor(capacity = 2_000) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`a recent-id set holds at least one id, not ${capacity}`);
    }
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#ids.size;
  }

  /** Records the id; false when it is already among the recent ones. */
  firstSighting(id: string): boolean {
    if (this.#ids.has(id)) return false;
    this.#ids.add(id);
    // A Set iterates in insertion order: the first id is the oldest.
    if (this.#ids.size > this.#capacity) this.#ids.delete(this.#ids.values().next().value!);
    return true;
  }
}
