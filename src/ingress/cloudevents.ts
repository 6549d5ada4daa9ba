/**
 * CloudEvents over HTTP (structured, binary and batch content modes) into the router's event shape.
 *
 * The `cloudevents` SDK validates each event against the CloudEvents 1.0 JSON schema. Its
 * `HTTP.toEvent` is not used to build the events: it silently invents a missing `id` or `time`,
 * defaults a missing `specversion`, replaces an unparseable `time` with "now", normalises times and
 * drops falsy `data` — we must reject the first three and pass the rest on exactly as sent.
 */
import { CloudEvent as SdkCloudEvent } from "cloudevents";
import { SEVERITIES, type CloudEvent, type Severity } from "../events/cloudevent.ts";
import { HttpError } from "./http-errors.ts";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "./json-depth.ts";

export type ContentMode = "structured" | "binary" | "batch";

export interface DecodedEvents {
  mode: ContentMode;
  events: CloudEvent[];
}

const REQUIRED = ["id", "source", "specversion", "type"] as const;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const ATTRIBUTE_NAME = /^[a-z0-9]+$/;
/**
 * Limits on what one event may carry besides its data, so an event's attributes cannot cost more memory
 * (and every notifier more rendering) than its data would; the body limit alone let through 60,000
 * extensions or a 1 MB attribute name. The spec RECOMMENDS names of at most 20 characters; producers
 * exceed that in practice, so the limit is looser but still bounded.
 */
export const MAX_EXTENSION_ATTRIBUTES = 100;
export const MAX_ATTRIBUTE_NAME_LENGTH = 64;
/** In characters, for every attribute but data and data_base64. */
export const MAX_ATTRIBUTE_VALUE_LENGTH = 4096;
const CONTEXT_ATTRIBUTES = new Set([
  "id",
  "source",
  "specversion",
  "type",
  "datacontenttype",
  "dataschema",
  "subject",
  "time",
]);

export function decodeCloudEvents(
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
): DecodedEvents {
  const contentType = String(headers["content-type"] ?? "");
  const mediaType = contentType.split(";", 1)[0]!.trim().toLowerCase();
  if (mediaType === "application/cloudevents-batch+json") {
    const batch = parseJson(body, "the batch");
    if (!Array.isArray(batch)) throw invalid("malformed", "a batch must be a JSON array of CloudEvents");
    if (batch.length === 0) throw invalid("malformed", "the batch contains no events");
    return {
      mode: "batch",
      events: batch.map((item, i) => fromStructured(item, `event ${i} of the batch: `)),
    };
  }
  if (mediaType.startsWith("application/cloudevents")) {
    if (mediaType !== "application/cloudevents+json") {
      throw new HttpError(
        415,
        "unsupported-media-type",
        `structured events must be JSON (application/cloudevents+json), not ${mediaType}`,
      );
    }
    const event = parseJson(body, "the event");
    if (Array.isArray(event)) {
      throw invalid(
        "malformed",
        "structured mode carries one event; send an array as application/cloudevents-batch+json",
      );
    }
    return { mode: "structured", events: [fromStructured(event, "")] };
  }
  if (Object.keys(headers).some((h) => h.startsWith("ce-"))) {
    return { mode: "binary", events: [fromBinary(headers, contentType, mediaType, body)] };
  }
  throw invalid(
    "not-a-cloudevent",
    "no CloudEvent found: send Content-Type application/cloudevents+json (structured), application/cloudevents-batch+json (batch), or ce-* headers (binary mode)",
  );
}

function fromStructured(value: unknown, where: string): CloudEvent {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid("malformed", `${where}a CloudEvent must be a JSON object`);
  }
  const attributes = { ...(value as Record<string, unknown>) };
  const names = Object.keys(attributes);
  // Before anything looks at each name: a count far over the limit is refused without walking it.
  if (names.length > MAX_EXTENSION_ATTRIBUTES + CONTEXT_ATTRIBUTES.size + 2) {
    throw tooManyExtensions(where, names.filter((n) => isExtensionName(n)).length);
  }
  checkRequired(attributes, where);
  let extensions = 0;
  for (const name of names) {
    if (name === "data" || name === "data_base64") continue;
    checkAttributeName(name, where, `"${clipped(name)}"`);
    const value = attributes[name];
    if (!CONTEXT_ATTRIBUTES.has(name)) {
      if (++extensions > MAX_EXTENSION_ATTRIBUTES) {
        throw tooManyExtensions(where, names.filter((n) => isExtensionName(n)).length);
      }
      if (!isExtensionValue(value)) {
        throw invalid(
          "invalid-attribute",
          `${where}extension attribute "${name}" must be a string, boolean or integer, not ${clipped(JSON.stringify(value))}`,
        );
      }
    }
    checkAttributeValue(name, value, where);
  }
  if (attributes.data !== undefined && attributes.data_base64 !== undefined) {
    throw invalid("invalid-attribute", `${where}an event carries either data or data_base64, not both`);
  }
  return finish(attributes, where);
}

function fromBinary(
  headers: Record<string, string | string[] | undefined>,
  contentType: string,
  mediaType: string,
  body: Buffer,
): CloudEvent {
  const attributes: Record<string, unknown> = {};
  let extensions = 0;
  for (const [name, raw] of Object.entries(headers)) {
    if (!name.startsWith("ce-") || raw === undefined) continue;
    const attribute = name.slice(3);
    checkAttributeName(attribute, "", `header ${clipped(name)}`);
    if (!CONTEXT_ATTRIBUTES.has(attribute) && ++extensions > MAX_EXTENSION_ATTRIBUTES) {
      const count = Object.keys(headers).filter((h) => h.startsWith("ce-") && isExtensionName(h.slice(3)));
      throw tooManyExtensions("", count.length);
    }
    const value = percentDecode(Array.isArray(raw) ? raw.join(", ") : raw, name);
    checkAttributeValue(attribute, value, "");
    attributes[attribute] = value;
  }
  checkRequired(attributes, "", "ce-");
  if (contentType !== "") attributes.datacontenttype = contentType;
  if (body.length > 0) {
    if (isJsonMediaType(mediaType)) {
      refuseDeepNesting(body, "the body");
      try {
        attributes.data = JSON.parse(body.toString("utf8"));
      } catch (err) {
        throw invalid(
          "malformed",
          `the body is not valid JSON although Content-Type is ${mediaType}: ${(err as Error).message}`,
        );
      }
    } else if (mediaType.startsWith("text/") || /charset=/i.test(contentType)) {
      attributes.data = body.toString("utf8");
    } else {
      attributes.data_base64 = body.toString("base64");
    }
  }
  return finish(attributes, "");
}

function checkAttributeName(name: string, where: string, what: string): void {
  if (name.length > MAX_ATTRIBUTE_NAME_LENGTH) {
    throw invalid(
      "attribute-name-too-long",
      `${where}attribute names are limited to ${MAX_ATTRIBUTE_NAME_LENGTH} characters; ${what} has ${name.length}`,
    );
  }
  if (!ATTRIBUTE_NAME.test(name)) {
    throw invalid(
      "invalid-attribute",
      `${where}attribute names must be lower-case letters and digits: ${what}`,
    );
  }
}

function checkAttributeValue(name: string, value: unknown, where: string): void {
  if (typeof value === "string" && value.length > MAX_ATTRIBUTE_VALUE_LENGTH) {
    throw invalid(
      "attribute-value-too-long",
      `${where}attribute values are limited to ${MAX_ATTRIBUTE_VALUE_LENGTH} characters (data excepted); "${name}" has ${value.length}`,
    );
  }
}

function isExtensionName(name: string): boolean {
  return name !== "data" && name !== "data_base64" && !CONTEXT_ATTRIBUTES.has(name);
}

function tooManyExtensions(where: string, count: number): HttpError {
  return invalid(
    "too-many-attributes",
    `${where}an event may carry at most ${MAX_EXTENSION_ATTRIBUTES} extension attributes; this one has ${count}`,
  );
}

/** Enough of a name or value to recognise it, never the megabyte someone sent. */
function clipped(text: string): string {
  return text.length <= 40 ? text : `${text.slice(0, 40)}… (${text.length} characters)`;
}

function checkRequired(attributes: Record<string, unknown>, where: string, prefix = ""): void {
  const missing = REQUIRED.filter((name) => typeof attributes[name] !== "string" || attributes[name] === "");
  if (missing.length > 0) {
    const absent = missing.filter((name) => attributes[name] === undefined);
    const what = absent.length === missing.length ? "missing" : "missing or not a non-empty string";
    throw invalid(
      "missing-attributes",
      `${where}required attribute${missing.length > 1 ? "s" : ""} ${what}: ${missing.map((m) => prefix + m).join(", ")}`,
    );
  }
  if (attributes.specversion !== "1.0") {
    throw invalid(
      "unsupported-specversion",
      `${where}specversion ${JSON.stringify(attributes.specversion)} is not supported; this endpoint accepts CloudEvents 1.0`,
    );
  }
  const time = attributes.time;
  if (
    time !== undefined &&
    (typeof time !== "string" || !RFC3339.test(time) || Number.isNaN(Date.parse(time)))
  ) {
    throw invalid("invalid-attribute", `${where}time ${JSON.stringify(time)} is not an RFC 3339 timestamp`);
  }
}

/** Schema validation by the SDK, then the router's shape: time filled in if absent, severity typed. */
function finish(attributes: Record<string, unknown>, where: string): CloudEvent {
  if (!plainlyValid(attributes)) {
    try {
      const { data: _data, data_base64: _base64, ...rest } = attributes;
      new SdkCloudEvent(
        { ...rest, data_base64: typeof _base64 === "string" ? _base64 : undefined },
        false,
      ).validate();
    } catch (err) {
      throw invalid("invalid-event", `${where}not a valid CloudEvent: ${describeValidationError(err)}`);
    }
  }
  const event = attributes as CloudEvent;
  if (event.time === undefined) event.time = new Date().toISOString();
  if (event.severity !== undefined && !SEVERITIES.includes(event.severity as Severity)) delete event.severity;
  return event;
}

/** A source that is a relative path of unreserved characters: a valid URI-reference by construction. */
const PLAIN_SOURCE = /^\/?[A-Za-z0-9._~-]+(?:\/[A-Za-z0-9._~-]+)*$/;
const PLAIN_UTC_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?Z$/;

/**
 * True when the SDK's schema validation cannot fail, checked in a fraction of its time (it dominated
 * batch ingestion). Stricter than the schema: anything unusual — a scheme or colon in the source, a
 * time with an offset, dataschema, data_base64, a null attribute — goes to the SDK, which also words
 * the error. Required attributes, names and extension values are checked before this.
 */
function plainlyValid(attributes: Record<string, unknown>): boolean {
  const { source, datacontenttype, subject, time } = attributes;
  if (typeof source !== "string" || !PLAIN_SOURCE.test(source)) return false;
  if (datacontenttype !== undefined && (typeof datacontenttype !== "string" || datacontenttype === ""))
    return false;
  if (subject !== undefined && (typeof subject !== "string" || subject === "")) return false;
  if (time !== undefined && !plainUtcTime(time)) return false;
  return (
    attributes.dataschema === undefined &&
    attributes.data_base64 === undefined &&
    attributes.schemaurl === undefined &&
    attributes.datacontentencoding === undefined
  );
}

/** The last time that passed: the events of a batch usually share it or a few. */
let lastPlainTime = "";

/** A UTC RFC 3339 time whose fields name a real instant (no 30 February, no leap second). */
function plainUtcTime(time: unknown): boolean {
  if (typeof time !== "string") return false;
  if (time === lastPlainTime) return true;
  const fields = PLAIN_UTC_TIME.exec(time);
  if (!fields) return false;
  const [, year, month, day, hour, minute, second] = fields.map(Number) as number[];
  const instant = new Date(Date.UTC(year!, month! - 1, day!, hour!, minute!, second!));
  const plain =
    year! >= 1 &&
    instant.getUTCFullYear() === year &&
    instant.getUTCMonth() === month! - 1 &&
    instant.getUTCDate() === day &&
    instant.getUTCHours() === hour &&
    instant.getUTCMinutes() === minute &&
    instant.getUTCSeconds() === second;
  if (plain) lastPlainTime = time;
  return plain;
}

function describeValidationError(err: unknown): string {
  const problems = (err as { errors?: unknown }).errors;
  if (Array.isArray(problems) && problems.length > 0) {
    return problems
      .map((p: { instancePath?: string; message?: string }) =>
        `${(p.instancePath ?? "").replace(/^\//, "")} ${p.message ?? "is invalid"}`.trim(),
      )
      .join("; ");
  }
  return (err as Error).message.replace(/\s+/g, " ");
}

function isExtensionValue(value: unknown): boolean {
  return typeof value === "string" || typeof value === "boolean" || Number.isInteger(value);
}

function parseJson(body: Buffer, what: string): unknown {
  if (body.length === 0) throw invalid("malformed", `${what} is empty`);
  refuseDeepNesting(body, what);
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw invalid("malformed", `${what} is not valid JSON: ${(err as Error).message}`);
  }
}

function refuseDeepNesting(body: Buffer, what: string): void {
  if (nestsDeeperThan(body, MAX_JSON_DEPTH)) {
    throw invalid(
      "too-deeply-nested",
      `${what} nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep; no notifier could render it`,
    );
  }
}

function isJsonMediaType(mediaType: string): boolean {
  return mediaType === "application/json" || mediaType.endsWith("+json");
}

/** Binary-mode header values are percent-encoded where they are not printable ASCII (HTTP binding 3.1.3.2). */
function percentDecode(value: string, header: string): string {
  if (!value.includes("%")) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    throw invalid("invalid-attribute", `header ${header} has a malformed percent-encoding`);
  }
}

function invalid(code: string, message: string): HttpError {
  return new HttpError(400, code, message);
}
