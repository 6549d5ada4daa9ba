/**
 * Bounded logging of request failures: a flood of bad requests must not become a flood of log lines.
 * At most `perWindow` lines per key per window; the next line that gets through says how many were held back.
 */
import type { Logger } from "../observability/logger.ts";

export class LogThrottle {
  readonly #log: Logger;
  readonly #perWindow: number;
  readonly #windowMs: number;
  readonly #windows = new Map<string, { start: number; count: number; suppressed: number }>();

  constructor(log: Logger, perWindow = 5, windowMs = 10_000) {
    this.#log = log;
    this.#perWindow = perWindow;
    this.#windowMs = windowMs;
  }

  warn(key: string, message: string, meta: Record<string, unknown>): void {
    this.#write("warn", key, message, meta);
  }

  debug(key: string, message: string, meta: Record<string, unknown>): void {
    // Checked first: building a log entry costs more than the request it describes.
    if (this.#log.isDebugEnabled()) this.#write("debug", key, message, meta);
  }

  #write(level: "warn" | "debug", key: string, message: string, meta: Record<string, unknown>): void {
    const now = Date.now();
    let window = this.#windows.get(key);
    if (!window || now - window.start >= this.#windowMs) {
      const suppressed = window?.suppressed ?? 0;
      window = { start: now, count: 0, suppressed: 0 };
      if (this.#windows.size > 1_000) this.#windows.clear();
      this.#windows.set(key, window);
      if (suppressed > 0) meta = { ...meta, suppressedSinceLastLine: suppressed };
    }
    if (window.count >= this.#perWindow) {
      window.suppressed++;
      return;
    }
    window.count++;
    this.#log.log(level, message, meta);
  }
}
