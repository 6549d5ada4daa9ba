/**
 * What every chat platform shows of an event: a title, a severity colour, key fields, a data excerpt
 * and a link. Each platform module lays these out in its own format and within its own limits.
 */
import { clusterOf, type CloudEvent, type Severity } from "../events/cloudevent.ts";

export interface Field {
  name: string;
  value: string;
}

export interface EventView {
  title: string;
  severity: Severity | undefined;
  /** "#rrggbb" */
  colour: string;
  /** A leading marker for platforms without a colour bar in that spot. */
  emoji: string;
  fields: Field[];
  /** `data` as pretty JSON (or the string itself); empty when the event has no data or only an empty object, array or string. */
  data: string;
  /** An http(s) URL the event points at, if it has one. */
  link: string | undefined;
}

const COLOURS: Record<Severity | "none", string> = {
  critical: "#8b0000",
  error: "#e01e5a",
  warning: "#ecb22e",
  info: "#36c5f0",
  debug: "#9e9e9e",
  none: "#9e9e9e",
};

const EMOJI: Record<Severity | "none", string> = {
  critical: "🚨",
  error: "🔴",
  warning: "🟠",
  info: "🔵",
  debug: "⚪",
  none: "⚪",
};

const SEVERITIES = new Set<string>(["debug", "info", "warning", "error", "critical"]);

/** data fields, in order of preference, that name the event for a reader. */
const TITLE_KEYS = ["title", "summary", "message"];
/** data fields that hold a link back to where the event came from (Alertmanager's generatorURL first). */
const LINK_KEYS = ["generatorURL", "url", "link", "externalURL"];

export function viewOf(event: CloudEvent): EventView {
  const severity =
    typeof event.severity === "string" && SEVERITIES.has(event.severity) ? event.severity : undefined;
  const data = isRecord(event.data) ? event.data : undefined;
  const annotations = data && isRecord(data.annotations) ? data.annotations : undefined;
  const title =
    firstString(data, TITLE_KEYS) ?? firstString(annotations, TITLE_KEYS) ?? event.subject ?? event.type;
  // The cluster comes first: a reader with several clusters needs it before anything else.
  const cluster = clusterOf(event);
  const fields: Field[] = cluster ? [{ name: "Cluster", value: cluster }] : [];
  fields.push({ name: "Source", value: event.source }, { name: "Type", value: event.type });
  if (event.subject) fields.push({ name: "Subject", value: event.subject });
  if (severity) fields.push({ name: "Severity", value: severity });
  if (event.time) fields.push({ name: "Time", value: event.time });
  const oneLineTitle = oneLine(title) || event.type;
  return {
    // In the title too: a notification or a fallback shows only that.
    title: cluster ? `[${cluster}] ${oneLineTitle}` : oneLineTitle,
    severity,
    colour: COLOURS[severity ?? "none"],
    emoji: EMOJI[severity ?? "none"],
    fields,
    data: dataText(event.data),
    link: linkOf(data),
  };
}

export function colourNumber(hex: string): number {
  return Number.parseInt(hex.slice(1), 16);
}

function dataText(data: unknown): string {
  if (data === undefined || data === null) return "";
  if (typeof data === "string") return data.trim() ? data : "";
  // An empty `{}` or `[]` block tells the reader nothing.
  if (typeof data === "object" && Object.keys(data).length === 0) return "";
  try {
    return JSON.stringify(data, null, 2) ?? "";
  } catch {
    return String(data);
  }
}

function linkOf(data: Record<string, unknown> | undefined): string | undefined {
  for (const key of LINK_KEYS) {
    const value = data?.[key];
    if (typeof value === "string" && /^https?:\/\/\S+$/i.test(value)) return value;
  }
  return undefined;
}

function firstString(record: Record<string, unknown> | undefined, keys: string[]): string | undefined {
  for (const key of keys) {
    const value = record?.[key];
    if (typeof value === "string" && value.trim()) return value;
  }
  return undefined;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** How much of the message to render. */
export interface RenderOptions {
  /**
   * Leave out what the message can do without (a link button or field, an avatar, a display name):
   * what is sent again when the platform answers 400 to the full message.
   */
  bare?: boolean;
}
