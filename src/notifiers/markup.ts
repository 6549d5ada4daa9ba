/**
 * What each chat platform makes of text, in one place: how untrusted text (event data, names, an
 * executor's output) is escaped for the platform's markup, put in a code block that nothing inside can
 * close early, kept from pinging anyone, and shortened without cutting a character in half.
 *
 * Every function here takes raw text and a limit, and returns text already escaped and within the
 * limit: escaping after cutting means a cut can never leave half an escape behind.
 */

export const ELLIPSIS = "…";

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/**
 * At most `max` UTF-16 units, ending with `marker` when anything was cut. The cut falls on a grapheme
 * boundary, so an emoji (a surrogate pair, a ZWJ family, a flag, a skin tone) is kept whole or dropped.
 */
export function truncate(text: string, max: number, marker = ELLIPSIS): string {
  if (text.length <= max) return text;
  if (max <= 0) return "";
  const end = max - marker.length;
  if (end <= 0) return truncate(ELLIPSIS, max);
  // The grapheme that straddles the cut starts before it; it goes whole.
  const straddling = graphemes.segment(text).containing(end);
  const cut = straddling && straddling.index < end ? straddling.index : end;
  return text.slice(0, cut) + marker;
}

/** `escape(truncate(text, n))` for the largest n whose result fits in `max`; the marker is not escaped. */
export function fitEscaped(
  text: string,
  max: number,
  escape: (text: string) => string,
  marker = ELLIPSIS,
): string {
  let room = max;
  for (;;) {
    const cut = truncate(text, room, marker);
    const candidate =
      cut === text
        ? escape(text)
        : cut.endsWith(marker)
          ? escape(cut.slice(0, cut.length - marker.length)) + marker
          : cut; // too little room for any text: only (part of) an ellipsis
    if (candidate.length <= max || room <= 0) return candidate.length <= max ? candidate : "";
    // Escaping grew the text by the overflow at most: two rounds settle it.
    room -= candidate.length - max;
  }
}

const ZERO_WIDTH_SPACE = "\u200b";
const ZERO_WIDTH_JOINER = "\u200d";
const FENCE = "```";

/**
 * Three backticks anywhere inside a code block end it on Slack, Discord and Mattermost (none of them
 * honours a longer opening fence the way CommonMark does): no two backticks may stay adjacent.
 */
function breakFences(text: string): string {
  return text.replace(/`(?=`)/g, "`" + ZERO_WIDTH_SPACE);
}

/** A fenced block of at most `max` units, fences included; the content is cut inside the fences. */
function fencedBlock(
  text: string,
  max: number,
  escapeInside: (text: string) => string,
  { language = "", marker = ELLIPSIS }: CodeBlockOptions = {},
): string {
  const open = `${FENCE}${language}\n`;
  const close = `\n${FENCE}`;
  const room = Math.max(0, max - open.length - close.length);
  return open + fitEscaped(text, room, (cut) => escapeInside(breakFences(cut)), marker) + close;
}

export interface CodeBlockOptions {
  /** The fence's info string, e.g. "json" for highlighting where the platform has it. */
  language?: string;
  /** What ends the content when it was cut. */
  marker?: string;
}

/** Inline code can escape nothing inside it: a backtick becomes a quote, and the text one line. */
function inlineCodeText(text: string, max: number, escape: (text: string) => string): string {
  return "`" + fitEscaped(text.trim().replace(/\s+/g, " ").replaceAll("`", "'"), max - 2, escape) + "`";
}

/**
 * CommonMark's backslash escapes (Discord, Mattermost and Adaptive Cards' markdown all honour them):
 * inline markers anywhere, block markers only where they would start a block.
 */
function escapeCommonMark(text: string): string {
  return text
    .replace(/[\\`*_~|[\]()<>]/g, "\\$&")
    .replace(/^(\s*)([#>+=-])/gm, "$1\\$2")
    .replace(/^(\s*\d+)([.)])/gm, "$1\\$2");
}

export const slack = {
  /**
   * mrkdwn's control characters (https://api.slack.com/reference/surfaces/formatting#escaping): with
   * `<` escaped, `<!here>`, `<@U123>` and `<http://…|x>` can no longer ping or link. mrkdwn has no
   * escape for `*`, `_`, `~` or backticks: text that must show as written goes in a plain_text object.
   */
  escape(text: string): string {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  },
  /** For mrkdwn text: escaped, cut to fit. */
  text(text: string, max: number): string {
    return fitEscaped(text, max, slack.escape);
  },
  /** For a plain_text object, which Slack shows as written. */
  plain(text: string, max: number): string {
    return truncate(text, max);
  },
  codeBlock(text: string, max: number, options?: CodeBlockOptions): string {
    return fencedBlock(text, max, slack.escape, options);
  },
  /** Entities are decoded inside inline code too: they are escaped there as well. */
  inlineCode(text: string, max: number): string {
    return inlineCodeText(text, max, slack.escape);
  },
} as const;

export const discord = {
  /**
   * Markdown shown as written. Mentions are not escaped here: every payload carries
   * `allowed_mentions: {parse: []}` (DISCORD_NO_MENTIONS), which Discord honours for every kind of ping.
   */
  text(text: string, max: number): string {
    return fitEscaped(text, max, escapeCommonMark);
  },
  codeBlock(text: string, max: number, options?: CodeBlockOptions): string {
    return fencedBlock(text, max, (inside) => inside, options);
  },
} as const;

/** Discord pings nobody for a message that says so, whatever its text contains. */
export const DISCORD_NO_MENTIONS = Object.freeze({ parse: [] as never[] });

/**
 * Discord refuses an embed (400 `{"embeds": ["0"]}`) whose url is not an absolute http(s) URL with a
 * dotted host, such as Alertmanager's in-cluster `http://prometheus-k8s-0:9090/…`.
 */
export function discordAcceptsUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  return (
    (parsed.protocol === "http:" || parsed.protocol === "https:") &&
    /\.[^.]/.test(parsed.hostname) &&
    !parsed.hostname.endsWith(".")
  );
}

/**
 * Mattermost notifies everyone for `@channel`, `@all` and `@here`, and a user for `@name`, anywhere
 * outside code. A zero-width joiner after the `@` leaves the text looking the same and matching no
 * mention; an address such as `ops@example.com` is no mention and stays as it is.
 */
function neutraliseMattermostMentions(text: string): string {
  return text.replace(/(^|[^\p{L}\p{N}_.-])@(?=[\p{L}\p{N}_])/gu, `$1@${ZERO_WIDTH_JOINER}`);
}

export const mattermost = {
  /** Markdown shown as written, pinging nobody. */
  text(text: string, max: number): string {
    return fitEscaped(text, max, (cut) => neutraliseMattermostMentions(escapeCommonMark(cut)));
  },
  /** Plain text that is never rendered as markdown (a fallback), still pinging nobody. */
  plain(text: string, max: number): string {
    return fitEscaped(text, max, neutraliseMattermostMentions);
  },
  /** Mattermost finds no mentions inside code, and shows no markdown there. */
  codeBlock(text: string, max: number, options?: CodeBlockOptions): string {
    return fencedBlock(text, max, (inside) => inside, options);
  },
  inlineCode(text: string, max: number): string {
    return inlineCodeText(text, max, (inside) => inside);
  },
} as const;

export const teams = {
  /**
   * Adaptive Card TextBlocks and facts render a markdown subset. Mentions need an `<at>` tag plus a
   * matching entity that we never send, so text cannot ping anyone.
   */
  text(text: string, max: number): string {
    return fitEscaped(text, max, escapeCommonMark);
  },
} as const;
