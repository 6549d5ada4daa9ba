/**
 * JSON logs, one object per line, to stderr: stdout stays free for data (a plugin's handshake line,
 * the events `patchbay local` prints).
 */
import winston from "winston";

export type Logger = winston.Logger;

export function createLogger(component: string, level = process.env.PATCHBAY_LOG_LEVEL ?? "info"): Logger {
  return winston.createLogger({
    level,
    defaultMeta: { component },
    format: winston.format.combine(
      winston.format.timestamp(),
      winston.format.errors(),
      winston.format.json(),
    ),
    transports: [new winston.transports.Console({ stderrLevels: Object.keys(winston.config.npm.levels) })],
  });
}
