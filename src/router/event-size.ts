/**
 * What an event costs to hold, estimated without serialising it: the router measures every routed
 * event, and JSON.stringify of a large payload costs as much as the parse that produced it.
 *
 * The estimate is the length of the event's compact JSON text, counting each character once: exact for
 * ASCII text without escapes, a little under for text that JSON escapes, and about what V8 keeps
 * (one byte per Latin-1 character, two otherwise), which is what the memory budget is about.
 */
import type { CloudEvent } from "../events/cloudevent.ts";

/** Deeper values are counted at a flat cost: events from the ingress nest 64 deep at most (json-depth). */
const MAX_DEPTH = 128;
/** The longest a double's shortest round-trip text can be, e.g. "-2.2250738585072014e-308". */
const MAX_NUMBER_CHARS = 24;

export function estimateEventBytes(event: CloudEvent): number {
  return valueBytes(event, 0);
}

function valueBytes(value: unknown, depth: number): number {
  switch (typeof value) {
    case "string":
      return value.length + 2;
    case "number":
      return numberBytes(value);
    case "boolean":
      return value ? 4 : 5;
    case "object":
      if (value === null) return 4;
      if (depth >= MAX_DEPTH) return MAX_NUMBER_CHARS;
      return Array.isArray(value) ? arrayBytes(value, depth + 1) : objectBytes(value, depth + 1);
    default:
      // undefined, functions and symbols are left out of JSON; a bigint cannot be in a parsed event.
      return 0;
  }
}

function arrayBytes(items: readonly unknown[], depth: number): number {
  // Brackets, and a comma between items.
  let bytes = items.length > 0 ? items.length + 1 : 2;
  for (let i = 0; i < items.length; i++) bytes += valueBytes(items[i], depth);
  return bytes;
}

function objectBytes(object: object, depth: number): number {
  let bytes = 2;
  let members = 0;
  // for-in without an own-property check: half the cost, and events are parsed JSON or decoded protobuf,
  // plain objects with nothing enumerable inherited (were there, the estimate would only err high).
  for (const key in object) {
    const value = (object as Record<string, unknown>)[key];
    if (value === undefined) continue;
    // "key": value, with the comma before every member but the first.
    bytes += key.length + 3 + valueBytes(value, depth) + (members > 0 ? 1 : 0);
    members++;
  }
  return bytes;
}

function numberBytes(value: number): number {
  if (!Number.isFinite(value)) return 4; // JSON writes null
  if (Number.isInteger(value) && Math.abs(value) < 1e21) {
    let digits = value < 0 ? 2 : 1;
    for (let rest = Math.abs(value); rest >= 10; rest = Math.floor(rest / 10)) digits++;
    return digits;
  }
  return MAX_NUMBER_CHARS;
}
