/**
 * Remembers (source, id) pairs for a bounded window: at most `maxEntries` of them, each for at most
 * `windowMs`. Entries are kept in arrival order, so the oldest is always at the front and eviction is
 * O(1); a duplicate does not refresh its entry (the window runs from the first sighting).
 */
export interface DedupOptions {
  /** Default 100,000. */
  maxEntries?: number;
  /** Default 10 minutes. */
  windowMs?: number;
}

export class DedupWindow {
  readonly #maxEntries: number;
  readonly #windowMs: number;
  readonly #seen = new Map<string, number>();
  #keys: string[];
  #times: Float64Array;
  #head = 0;
  #length = 0;

  constructor(options: DedupOptions = {}) {
    this.#maxEntries = Math.max(1, options.maxEntries ?? 100_000);
    this.#windowMs = options.windowMs ?? 10 * 60_000;
    this.#keys = new Array<string>(this.#maxEntries);
    this.#times = new Float64Array(this.#maxEntries);
  }

  get size(): number {
    return this.#length;
  }

  /** True when the pair was seen within the window (a duplicate); otherwise records it and returns false. */
  seen(source: string, id: string, now: number): boolean {
    this.#expire(now);
    const key = source + "\u0000" + id;
    if (this.#seen.has(key)) return true;
    if (this.#length === this.#maxEntries) this.#evictOldest();
    const slot = (this.#head + this.#length) % this.#maxEntries;
    this.#keys[slot] = key;
    this.#times[slot] = now;
    this.#length++;
    this.#seen.set(key, now);
    return false;
  }

  #expire(now: number): void {
    const cutoff = now - this.#windowMs;
    while (this.#length > 0 && (this.#times[this.#head] as number) <= cutoff) this.#evictOldest();
  }

  #evictOldest(): void {
    this.#seen.delete(this.#keys[this.#head] as string);
    this.#keys[this.#head] = "";
    this.#head = (this.#head + 1) % this.#maxEntries;
    this.#length--;
  }
}
