/**
 * JSON logs, one object per line, to stderr: stdout carries only the handshake line the process
 * runtime reads. The line has the fields winston's JSON format gives Patchbay's own logs (level,
 * message, timestamp, component, then the fields passed), so host and plugin logs read alike; the SDK
 * writes them itself so that a plugin does not pull in a logging library.
 */
export type LogLevel = "error" | "warn" | "info" | "debug";

export interface Logger {
  error(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
}

const severityRank: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

function isLogLevel(value: string): value is LogLevel {
  return Object.hasOwn(severityRank, value);
}

/** A logger for one component; PATCHBAY_LOG_LEVEL (error, warn, info, debug) sets how much is written. */
export function createLogger(component: string, level = process.env.PATCHBAY_LOG_LEVEL ?? "info"): Logger {
  const threshold = severityRank[isLogLevel(level) ? level : "info"];
  const write =
    (lineLevel: LogLevel) =>
    (message: string, fields: Record<string, unknown> = {}): void => {
      if (severityRank[lineLevel] > threshold) return;
      const line = { component, ...fields, level: lineLevel, message, timestamp: new Date().toISOString() };
      process.stderr.write(`${JSON.stringify(line, jsonSafe)}\n`);
    };
  return { error: write("error"), warn: write("warn"), info: write("info"), debug: write("debug") };
}

/** Errors and bigints would otherwise serialise as {} or throw; a log line must never throw. */
function jsonSafe(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  if (typeof value === "bigint") return value.toString();
  return value;
}
