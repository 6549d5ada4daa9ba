/**
 * Logs to stderr, so that stdout stays free for data (a plugin's handshake line, the events
 * `patchbay local` prints). JSON, one object per line, for machines (the default); or a short line
 * for a person at a terminal (`PATCHBAY_LOG_FORMAT=text`, which `patchbay local` picks on a terminal).
 * Credentials are redacted before either format sees the entry.
 */
import winston from "winston";
import { redactEntry } from "./redact.ts";

export type Logger = winston.Logger;

export type LogFormat = "json" | "text";

export const LOG_FORMATS: readonly LogFormat[] = ["json", "text"];

/** The last line of defence: whatever a caller logs, recognisable credentials do not reach the output. */
const redactCredentials = winston.format((info) => {
  redactEntry(info as Record<string, unknown>);
  return info;
});

const LEVEL_COLOURS: Record<string, string> = {
  error: "\x1b[31m",
  warn: "\x1b[33m",
  info: "\x1b[36m",
  debug: "\x1b[90m",
};
const RESET = "\x1b[0m";

/** Fields every entry has, shown in the line's fixed part (or not at all) rather than as key=value. */
const FIXED_FIELDS = new Set(["level", "message", "timestamp", "component"]);

/** `14:02:07 info  [hub] plugin connected plugin=source/heartbeat version=1.0.0` */
export function formatLogLine(info: Record<string, unknown>, colour: boolean): string {
  const time = clock(typeof info.timestamp === "string" ? new Date(info.timestamp) : new Date());
  const level = String(info.level);
  const shownLevel = colour ? `${LEVEL_COLOURS[level] ?? ""}${level.padEnd(5)}${RESET}` : level.padEnd(5);
  // The root logger is "patchbay"; children name the part that speaks.
  const component = info.component && info.component !== "patchbay" ? `[${String(info.component)}] ` : "";
  const fields = Object.entries(info)
    .filter(([key, value]) => !FIXED_FIELDS.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${showValue(value)}`);
  return [time, shownLevel, `${component}${String(info.message)}`, ...fields]
    .join(" ")
    .replace(/[\r\n]+/g, " ");
}

/** HH:MM:SS in local time, as the events `patchbay local` prints show it. */
function clock(date: Date): string {
  return [date.getHours(), date.getMinutes(), date.getSeconds()]
    .map((part) => String(part).padStart(2, "0"))
    .join(":");
}

function showValue(value: unknown): string {
  if (typeof value === "string") return value === "" || /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  if (value instanceof Error) return JSON.stringify(value.message);
  return JSON.stringify(value) ?? String(value);
}

const textFormat = (colour: boolean) =>
  winston.format.printf((info) => formatLogLine(info as Record<string, unknown>, colour));

/** PATCHBAY_LOG_FORMAT when it names a format; otherwise the given fallback. */
export function logFormatFromEnvironment(
  fallback: LogFormat,
  env: NodeJS.ProcessEnv = process.env,
): LogFormat {
  const value = env.PATCHBAY_LOG_FORMAT;
  if (value === undefined || value === "") return fallback;
  if (!(LOG_FORMATS as readonly string[]).includes(value))
    throw new Error(
      `PATCHBAY_LOG_FORMAT must be one of ${LOG_FORMATS.join(", ")}, not ${JSON.stringify(value)}`,
    );
  return value as LogFormat;
}

export function createLogger(
  component: string,
  level = process.env.PATCHBAY_LOG_LEVEL ?? "info",
  format: LogFormat = logFormatFromEnvironment("json"),
): Logger {
  const colour = format === "text" && process.stderr.isTTY === true && !process.env.NO_COLOR;
  return winston.createLogger({
    level,
    defaultMeta: { component },
    format: winston.format.combine(
      winston.format.timestamp(),
      winston.format.errors(),
      redactCredentials(),
      format === "text" ? textFormat(colour) : winston.format.json(),
    ),
    transports: [new winston.transports.Console({ stderrLevels: Object.keys(winston.config.npm.levels) })],
  });
}
