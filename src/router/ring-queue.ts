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
