/**
 * Command templates that cannot inject. The template is split into arguments FIRST, with the very
 * parser typed commands go through (command-line.ts); only then are placeholders filled, so a value
 * lands inside the one argument its placeholder was in, whatever it contains (spaces, quotes, `;`, a
 * leading `-`). The arguments are then written back as a command line in which every argument is
 * single-quoted, which the same parser reads back as exactly those arguments: the dispatcher, the
 * aliases and the executor's own policy see what they would see had a person typed it quoted.
 */
import { parseCommandLine } from "../commands/command-line.ts";
import type { CloudEvent } from "../events/cloudevent.ts";

/** `{{ data.labels.pod }}`: a dot-separated path into the event; spaces inside the braces are allowed. */
const PLACEHOLDER = /\{\{[ \t]*([^{}]*?)[ \t]*\}\}/g;
/** Where a placeholder may point: a CloudEvent attribute, or a field under data. */
const PATH = /^(id|source|type|subject|time|severity|data(\.[^.\s{}]+)+)$/;

type Part = { literal: string } | { path: string[]; text: string };

export interface CompiledTemplate {
  /** One entry per argument: the literal text and placeholders it is made of. */
  readonly words: readonly (readonly Part[])[];
  /** Every placeholder path, e.g. ["data.labels.pod", "data.labels.namespace"]. */
  readonly placeholders: readonly string[];
}

export type TemplateCompilation =
  { ok: true; template: CompiledTemplate } | { ok: false; problems: string[] };

export type Rendered =
  { ok: true; args: string[]; command: string } | { ok: false; missing: string; reason: string };

export function compileTemplate(template: string): TemplateCompilation {
  const problems: string[] = [];
  // Placeholders are normalised to `{{path}}` so that the spaces allowed inside braces do not split a word.
  const normalised = template.replace(PLACEHOLDER, (_, path: string) => `{{${path}}}`);
  const parsed = parseCommandLine(normalised);
  if (!parsed.ok) return { ok: false, problems: [parsed.error] };
  if (parsed.words.length === 0) return { ok: false, problems: ["the command is empty"] };
  const placeholders: string[] = [];
  const words = parsed.words.map((word, index) => {
    const parts: Part[] = [];
    let last = 0;
    for (const match of word.value.matchAll(/\{\{([^{}]*)\}\}/g)) {
      const path = match[1]!;
      if (match.index > last) parts.push({ literal: word.value.slice(last, match.index) });
      last = match.index + match[0].length;
      if (!PATH.test(path)) {
        problems.push(
          `placeholder {{${path}}}: a placeholder names an event attribute (id, source, type, subject, time, severity) or a field under data, e.g. {{data.labels.pod}}`,
        );
        continue;
      }
      if (index === 0) {
        problems.push(
          `placeholder {{${path}}} is in the first word: the command's first word must be literal, so the executor it goes to is fixed when the Action is applied`,
        );
      }
      placeholders.push(path);
      parts.push({ path: path.split("."), text: path });
    }
    if (last < word.value.length) parts.push({ literal: word.value.slice(last) });
    if (parts.some((part) => "literal" in part && /\{\{|\}\}/.test(part.literal)))
      problems.push(`argument ${index + 1} ("${word.value}") has an unbalanced {{ or }}`);
    return parts;
  });
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, template: { words, placeholders } };
}

/**
 * The arguments for this event. A placeholder whose field is missing, or holds an object, an array or
 * null, fails the whole rendering: a command with a hole in it is not the command anyone wrote.
 */
export function renderTemplate(template: CompiledTemplate, event: CloudEvent): Rendered {
  const args: string[] = [];
  for (const word of template.words) {
    let arg = "";
    for (const part of word) {
      if ("literal" in part) {
        arg += part.literal;
        continue;
      }
      const value = valueAt(event, part.path);
      if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
        const what =
          value === undefined
            ? "is missing"
            : `holds ${value === null ? "null" : Array.isArray(value) ? "an array" : "an object"}`;
        return { ok: false, missing: part.text, reason: `{{${part.text}}} ${what} in event ${event.id}` };
      }
      arg += String(value);
    }
    args.push(arg);
  }
  return { ok: true, args, command: quoteCommandLine(args) };
}

/**
 * Arguments as a command line that parseCommandLine reads back as these arguments: each is
 * single-quoted (nothing inside single quotes is special), a single quote in it written as '\''.
 * The parser turns typographic quotes into plain ones on the whole line before it splits (chat clients
 * type them), so they are turned into plain ones here first: left in, a ’ would close the quoting and
 * split the value.
 */
export function quoteCommandLine(args: readonly string[]): string {
  return args
    .map(
      (arg) =>
        `'${arg.replace(TYPOGRAPHIC_QUOTES, (q) => (q === "\u2018" || q === "\u2019" ? "'" : '"')).replaceAll("'", "'\\''")}'`,
    )
    .join(" ");
}

const TYPOGRAPHIC_QUOTES = /[\u201C\u201D\u201E\u2018\u2019]/g;

function valueAt(event: CloudEvent, path: readonly string[]): unknown {
  let value: unknown = event;
  for (const key of path) {
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}
