/**
 * How deeply a JSON text nests, found by scanning it once (no recursion, so no stack to overflow).
 * JSON.parse accepts any depth, but everything after it — JSON.stringify in every notifier — recurses
 * and throws past a few thousand levels: an event that deep would be accepted and never delivered.
 */

/** Far beyond any real event (a Kubernetes object nests about 15 deep), far below any stack limit. */
export const MAX_JSON_DEPTH = 128;

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** True when the text nests objects and arrays deeper than `limit`. */
export function nestsDeeperThan(text: Buffer, limit: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const byte = text[i]!;
    if (byte === QUOTE) i = closingQuote(text, i);
    else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      if (++depth > limit) return true;
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) depth--;
  }
  return false;
}

/**
 * The index of the quote that closes the string opened at `open` (text.length when none does). Strings
 * are most of an event's bytes: native indexOf skips them far faster than a byte loop, and a quote
 * preceded by an odd run of backslashes is escaped.
 */
function closingQuote(text: Buffer, open: number): number {
  let at = open;
  for (;;) {
    at = text.indexOf(QUOTE, at + 1);
    if (at === -1) return text.length;
    let backslashes = 0;
    while (text[at - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
}
