/** Pacing for one notifier: `ratePerSecond` sustained, up to `burst` at once; a rate of 0 never waits. */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  #tokens: number;
  #updated: number;

  constructor(ratePerSecond: number, burst: number, now: number) {
    this.#rate = ratePerSecond;
    this.#burst = Math.max(1, burst);
    this.#tokens = this.#burst;
    this.#updated = now;
  }

  /** Takes a token and returns 0, or returns how many ms until one is available (taking nothing). */
  take(now: number): number {
    if (this.#rate <= 0) return 0;
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#updated) * this.#rate) / 1000);
    this.#updated = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.#tokens) * 1000) / this.#rate);
  }
}
