/**
 * The log notifier, the one `patchbay local` starts with: each event as one line on a stream (stdout by
 * default). On a terminal the line is for a person (time, severity in colour, source, type, subject, the
 * data's fields); anywhere else it is the event as JSON, for programs.
 */
import type { Writable } from "node:stream";
import { Writable as WritableStream } from "node:stream";
import { clusterOf, type CloudEvent } from "../events/cloudevent.ts";
import { DELIVERED, type DeliveryOutcome, type NotifierSink } from "./sink.ts";

export type EventFormat = "text" | "json";

export const EVENT_FORMATS: readonly EventFormat[] = ["text", "json"];

/**
 * A stream with a chosen event format, e.g. JSON lines although stdout is a terminal (`--output json`).
 * A wrapper rather than an option of LogSink because the sink is built from a Notifier spec, far from
 * the command line; the stream is what travels from one to the other.
 */
export class EventOutput extends WritableStream {
  readonly format: EventFormat;
  readonly colour: boolean;
  readonly #target: Writable;

  constructor(target: Writable, format: EventFormat, colour = format === "text" && supportsColour(target)) {
    super({
      write: (chunk: Buffer | string, encoding, callback) => {
        // Backpressure passes through: the next write waits for the target to drain.
        if (target.write(chunk, encoding)) callback();
        else target.once("drain", () => callback());
      },
    });
    this.#target = target;
    this.format = format;
    this.colour = colour;
  }

  /** The width of the terminal behind it, if any: text lines are cut to fit rather than wrapped. */
  get columns(): number | undefined {
    return columnsOf(this.#target);
  }
}

/** Text on a terminal, JSON elsewhere, unless the stream was given a format. */
export function eventFormatOf(stream: Writable): EventFormat {
  if (stream instanceof EventOutput) return stream.format;
  return isTerminal(stream) ? "text" : "json";
}

export class LogSink implements NotifierSink {
  readonly type = "log";
  readonly #stream: Writable;
  readonly #format: EventFormat;
  readonly #colour: boolean;

  constructor(stream: Writable = process.stdout) {
    this.#stream = stream;
    this.#format = eventFormatOf(stream);
    this.#colour = stream instanceof EventOutput ? stream.colour : supportsColour(stream);
  }

  deliver(event: CloudEvent, signal: AbortSignal): Promise<DeliveryOutcome> {
    let line: string;
    try {
      line =
        this.#format === "text"
          ? formatEventLine(event, { colour: this.#colour, columns: columnsOf(this.#stream) }) + "\n"
          : JSON.stringify(event) + "\n";
    } catch (error) {
      return Promise.resolve({
        kind: "permanent",
        reason: `cannot write the event as ${this.#format}: ${(error as Error).message}`,
      });
    }
    if (this.#stream.write(line)) return Promise.resolve(DELIVERED);
    // Backpressure: the line is buffered; wait for the stream before taking the next event.
    return new Promise((resolve) => {
      const done = (outcome: DeliveryOutcome) => {
        this.#stream.off("drain", onDrain);
        signal.removeEventListener("abort", onAbort);
        resolve(outcome);
      };
      const onDrain = () => done(DELIVERED);
      const onAbort = () => done(DELIVERED);
      this.#stream.once("drain", onDrain);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}

const SEVERITY_COLOURS: Record<string, string> = {
  debug: "\x1b[90m", // grey
  info: "\x1b[32m", // green
  warning: "\x1b[33m", // yellow
  error: "\x1b[31m", // red
  critical: "\x1b[1;31m", // bold red
};
const RESET = "\x1b[0m";

/**
 * One event as one line: `14:02:07 info    heartbeat dev.patchbay.heartbeat [subject] key=value …`,
 * with `[cluster]` after the severity when the event names its cluster (the patchbaycluster extension).
 * Cut to `columns` when given, so that a terminal shows one event per row.
 */
export function formatEventLine(
  event: CloudEvent,
  options: { colour?: boolean; columns?: number } = {},
): string {
  const severity = event.severity ?? "info";
  const paddedSeverity = severity.padEnd(7);
  const cluster = clusterOf(event);
  const parts = [clock(event.time), paddedSeverity];
  if (cluster) parts.push(`[${cluster}]`);
  parts.push(event.source, event.type);
  if (event.subject) parts.push(event.subject);
  const data = describeData(event.data);
  if (data) parts.push(data);
  let line = parts.join(" ").replace(/[\r\n]+/g, " ");
  if (options.columns && options.columns > 20 && line.length > options.columns) {
    line = line.slice(0, options.columns - 1) + "…";
  }
  if (!options.colour) return line;
  // Only the severity is coloured; it sits right after the time (HH:MM:SS and a space).
  const colour = SEVERITY_COLOURS[severity] ?? "";
  const at = "HH:MM:SS ".length;
  return line.slice(0, at) + colour + severity + RESET + line.slice(at + severity.length);
}

/** HH:MM:SS in local time: the reader's own clock. */
function clock(time: string | undefined): string {
  const date = time ? new Date(time) : new Date();
  const valid = Number.isNaN(date.getTime()) ? new Date() : date;
  return [valid.getHours(), valid.getMinutes(), valid.getSeconds()]
    .map((part) => String(part).padStart(2, "0"))
    .join(":");
}

/** The data's top-level fields as key=value; anything else as compact JSON. */
function describeData(data: unknown): string {
  if (data === undefined || data === null) return "";
  if (typeof data === "string") return quoteIfNeeded(data);
  if (typeof data !== "object" || Array.isArray(data)) return JSON.stringify(data);
  return Object.entries(data as Record<string, unknown>)
    .map(([key, value]) => `${key}=${describeValue(value)}`)
    .join(" ");
}

export function describeValue(value: unknown): string {
  if (typeof value === "string") return quoteIfNeeded(value);
  if (value === undefined) return "undefined";
  return JSON.stringify(value) ?? String(value);
}

function quoteIfNeeded(text: string): string {
  return text === "" || /[\s"=]/.test(text) ? JSON.stringify(text) : text;
}

function isTerminal(stream: Writable): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true;
}

function columnsOf(stream: Writable): number | undefined {
  if (stream instanceof EventOutput) return stream.columns;
  const columns = (stream as { columns?: number }).columns;
  return isTerminal(stream) && typeof columns === "number" ? columns : undefined;
}

/** Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function supportsColour(stream: Writable): boolean {
  return isTerminal(stream) && !process.env.NO_COLOR;
}
