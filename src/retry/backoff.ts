/** Exponential backoff with full jitter (the AWS Architecture Blog's recommendation). */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor?: number;
}

export class Backoff {
  readonly #options: Required<BackoffOptions>;
  #attempt = 0;

  constructor(options: BackoffOptions) {
    this.#options = { factor: 2, ...options };
  }

  get attempts(): number {
    return this.#attempt;
  }

  /** The delay before the next attempt: uniform in [ceiling/2, ceiling], ceiling growing per attempt. */
  next(): number {
    const { initialMs, maxMs, factor } = this.#options;
    const ceiling = Math.min(maxMs, initialMs * factor ** this.#attempt);
    this.#attempt++;
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  reset(): void {
    this.#attempt = 0;
  }
}
