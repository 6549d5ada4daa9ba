/**
 * Names on the wire. A source or notifier name becomes one NATS subject token (and a consumer name):
 * letters, digits and "-" stay, every other character becomes its code in hex between two "_", so the
 * mapping is one-to-one and no name can inject a "." (a new token), "*" or ">" (a wildcard) or spaces,
 * and the result is also a valid consumer name ([-\w]+). Kubernetes names ("team-slack") read unchanged.
 */

export function nameToken(name: string): string {
  let token = "";
  for (const char of name) {
    if (/^[A-Za-z0-9-]$/.test(char)) token += char;
    else token += `_${char.codePointAt(0)!.toString(16)}_`;
  }
  // An empty token is not a valid subject token, and "" is not a valid name anyway.
  return token === "" ? "__" : token;
}

export function tokenToName(token: string): string {
  if (token === "__") return "";
  return token.replace(/_([0-9a-f]+)_/g, (_, hex: string) => String.fromCodePoint(parseInt(hex, 16)));
}

/**
 * The message id JetStream deduplicates on: `<source>/<id>`. Headers cannot carry CR or LF, so "%" and
 * control characters are percent-encoded; ids without them (nearly all) are used as they are. A "/" in
 * the source is encoded too, so the first "/" always ends it: ("a/b", "c") and ("a", "b/c") stay apart.
 */
export function messageId(source: string, id: string): string {
  return `${escapeHeader(source).replaceAll("/", "%2f")}/${escapeHeader(id)}`;
}

/** One line, at most `max` characters: for a header value such as a dead letter's reason. */
export function headerText(text: string, max = 1_000): string {
  const line = text.replace(/[\r\n]+/g, " ");
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

function escapeHeader(text: string): string {
  let escaped = "";
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    escaped +=
      code === 0x25 || code < 0x20 || code === 0x7f ? `%${code.toString(16).padStart(2, "0")}` : text[i];
  }
  return escaped;
}
