/**
 * Shell-like splitting of a command line: whitespace separates words, single quotes keep everything
 * literal, double quotes allow \" and \\, a backslash outside quotes escapes the next character.
 * Nothing is expanded — no variables, globs or substitutions — because the words go to a plugin,
 * never to a shell.
 */

export interface Word {
  value: string;
  /** Offsets of the word in the (normalised) line, quotes included. */
  start: number;
  end: number;
}

export type ParsedLine = { ok: true; line: string; words: Word[] } | { ok: false; error: string };

// Chat clients turn typed quotes into typographic ones; people mean the plain ones.
const TYPOGRAPHIC_QUOTES: Record<string, string> = {
  "\u201C": '"',
  "\u201D": '"',
  "\u201E": '"',
  "\u2018": "'",
  "\u2019": "'",
};

export function parseCommandLine(input: string): ParsedLine {
  const line = input.replace(/[\u201C\u201D\u201E\u2018\u2019]/g, (q) => TYPOGRAPHIC_QUOTES[q] ?? q);
  const control = findControlCharacter(line);
  if (control !== undefined) {
    return {
      ok: false,
      error: `the command contains a control character (U+${control.code.toString(16).toUpperCase().padStart(4, "0")}) at position ${control.index}; send one line of plain text`,
    };
  }
  const words: Word[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && isSpace(line[i]!)) i++;
    if (i >= line.length) break;
    const start = i;
    let value = "";
    while (i < line.length && !isSpace(line[i]!)) {
      const c = line[i]!;
      if (c === "'") {
        const close = line.indexOf("'", i + 1);
        if (close < 0) return { ok: false, error: `unterminated single quote at position ${i}` };
        value += line.slice(i + 1, close);
        i = close + 1;
      } else if (c === '"') {
        const opened = i;
        i++;
        while (i < line.length && line[i] !== '"') {
          if (line[i] === "\\" && (line[i + 1] === '"' || line[i + 1] === "\\")) i++;
          value += line[i];
          i++;
        }
        if (i >= line.length) return { ok: false, error: `unterminated double quote at position ${opened}` };
        i++;
      } else if (c === "\\") {
        if (i + 1 >= line.length) return { ok: false, error: "the command ends with a lone backslash" };
        value += line[i + 1];
        i += 2;
      } else {
        value += c;
        i++;
      }
    }
    words.push({ value, start, end: i });
  }
  return { ok: true, line, words };
}

function isSpace(c: string): boolean {
  return c === " " || c === "\t";
}

function findControlCharacter(line: string): { index: number; code: number } | undefined {
  for (let i = 0; i < line.length; i++) {
    const code = line.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) return { index: i, code };
  }
  return undefined;
}
