/**
 * JSON logs, one object per line, to stderr: stdout stays free for data (a plugin's handshake line,
 * the events `patchbay local` prints).
 */
import winston from "winston";
import { redactEntry } from "./redact.ts";

export type Logger = winston.Logger;

/** The last line of defence: whatever a caller logs, recognisable credentials do not reach the output. */
const redactCredentials = winston.format((info) => {
  redactEntry(info as Record<string, unknown>);
  return info;
});

export function createLogger(component: string, level = process.env.PATCHBAY_LOG_LEVEL ?? "info"): Logger {
  return winston.createLogger({
    level,
    defaultMeta: { component },
    format: winston.format.combine(
      winston.format.timestamp(),
      winston.format.errors(),
      redactCredentials(),
      winston.format.json(),
    ),
    transports: [new winston.transports.Console({ stderrLevels: Object.keys(winston.config.npm.levels) })],
  });
}
