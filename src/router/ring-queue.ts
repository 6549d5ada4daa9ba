/** A FIFO on a circular buffer that grows in powers of two: O(1) push and shift, no per-item allocation. */
export class RingQueue<T> {
  #items: (T | undefined)[] = new Array<T | undefined>(16);
  #head = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(item: T): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#length) & (this.#items.length - 1)] = item;
    this.#length++;
  }

  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#items.length - 1);
    this.#length--;
    return item;
  }

  /** Empties the queue and says how many items it held. */
  clear(): number {
    const count = this.#length;
    this.#items = new Array<T | undefined>(16);
    this.#head = 0;
    this.#length = 0;
    return count;
  }

  #grow(): void {
    const bigger = new Array<T | undefined>(this.#items.length * 2);
    for (let i = 0; i < this.#length; i++)
      bigger[i] = this.#items[(this.#head + i) & (this.#items.length - 1)];
    this.#items = bigger;
    this.#head = 0;
  }
}

/** Something whose memory cost is known when it is queued. */
export interface Sized {
  readonly bytes: number;
}

export interface QueueBounds {
  /** Most items held; the oldest goes first when a new one would exceed it. */
  maxItems: number;
  /** Most bytes held (the sum of the items' `bytes`); likewise. */
  maxBytes: number;
}

/** Which bound pushed an item out. */
export type Eviction = "overflow" | "overflow-bytes";

/**
 * A FIFO bounded by count and by bytes: a push that would exceed either evicts the oldest items first,
 * and an item larger than the whole byte bound is refused rather than emptying the queue for nothing.
 * The owner learns of every item that leaves other than by shift(), so it can count and release it.
 */
export class BoundedQueue<T extends Sized> {
  readonly #items = new RingQueue<T>();
  #bytes = 0;
  #bounds: QueueBounds;
  readonly #evicted: (item: T, why: Eviction) => void;

  constructor(bounds: QueueBounds, evicted: (item: T, why: Eviction) => void) {
    this.#bounds = bounds;
    this.#evicted = evicted;
  }

  get length(): number {
    return this.#items.length;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Tighter bounds evict the oldest items at once; looser ones take effect on the next push. */
  setBounds(bounds: QueueBounds): void {
    this.#bounds = bounds;
    while (this.#items.length > bounds.maxItems) this.#evictOldest("overflow");
    while (this.#bytes > bounds.maxBytes) this.#evictOldest("overflow-bytes");
  }

  push(item: T): void {
    const { maxItems, maxBytes } = this.#bounds;
    if (item.bytes > maxBytes) {
      this.#evicted(item, "overflow-bytes");
      return;
    }
    if (this.#items.length >= maxItems) this.#evictOldest("overflow");
    while (this.#bytes + item.bytes > maxBytes) this.#evictOldest("overflow-bytes");
    this.#items.push(item);
    this.#bytes += item.bytes;
  }

  shift(): T | undefined {
    const item = this.#items.shift();
    if (item !== undefined) this.#bytes -= item.bytes;
    return item;
  }

  /** Empties the queue, handing each item to `each` (oldest first); says how many it held. */
  clear(each: (item: T) => void): number {
    const count = this.#items.length;
    for (let item = this.#items.shift(); item !== undefined; item = this.#items.shift()) each(item);
    this.#bytes = 0;
    return count;
  }

  #evictOldest(why: Eviction): void {
    const oldest = this.#items.shift()!;
    this.#bytes -= oldest.bytes;
    this.#evicted(oldest, why);
  }
}
