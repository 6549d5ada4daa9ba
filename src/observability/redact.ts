/**
 * Credentials out of logs and error messages. A notifier's URL is often the secret itself (Slack, Teams
 * and Discord put the token in the path), or carries one as user:password@ or ?token=; header values
 * come from Secrets. Where the secret is known (a notifier's own URL and headers) it is replaced outright;
 * anywhere else the patterns below catch what is recognisably a credential.
 */

const MASK = "***";

/** scheme://user:password@ → scheme://***@ */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]+@/gi;
/** The value of a query (or fragment) parameter whose name says it is a credential. */
const SECRET_PARAMETER =
  /([?&#;][a-z0-9_.-]*?(?:token|key|secret|passw(?:or)?d|pwd|sig|signature|auth|authorization|credential|session)[a-z0-9_.-]*=)[^&#\s"'<>]*/gi;
/** An Authorization header's credentials, wherever they are quoted. */
const AUTHORIZATION_SCHEME = /\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{6,}/g;
/** Object keys whose values are credentials, e.g. a headers object logged whole. */
const SECRET_KEY = /token|secret|passw(?:or)?d|authorization|api[-_]?key|cookie|signature/i;

/** Masks recognisable credentials in free text: URL userinfo, secret-looking query values, bearer tokens. */
export function redactText(text: string): string {
  // Cheap tests first: nearly every log line has none of these.
  if (!text.includes("://") && !text.includes("=") && !/Bearer|Basic|Token/.test(text)) return text;
  return text
    .replace(USERINFO, `$1${MASK}@`)
    .replace(SECRET_PARAMETER, `$1${MASK}`)
    .replace(AUTHORIZATION_SCHEME, `$1 ${MASK}`);
}

/**
 * A URL as it may be shown: scheme and host only. Used for a notifier's own endpoint, whose path and
 * query may be the credential (Slack's /services/T…/B…/secret) and cannot be told apart from a harmless one.
 */
export function describeEndpoint(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}/…`;
  } catch {
    return "(an unparseable URL)";
  }
}

/**
 * Replaces every known secret in `text` — a URL in each form an error may print it (as given, as
 * normalised, percent-decoded) and header values — then masks anything else that looks like one.
 */
export function redactKnownSecrets(text: string, url: string, secrets: Iterable<string> = []): string {
  let out = text;
  for (const form of urlForms(url)) out = out.split(form).join(describeEndpoint(url));
  for (const secret of secrets) {
    // Short values (e.g. "1", "yes") would mask unrelated words and are no secret worth the name.
    if (secret.length >= 4) out = out.split(secret).join(MASK);
  }
  return redactText(out);
}

function urlForms(url: string): string[] {
  const forms = new Set([url]);
  try {
    const parsed = new URL(url);
    forms.add(parsed.href);
    forms.add(decodeURI(parsed.href));
  } catch {
    // Not a URL: only the text as given is replaced.
  }
  // Longest first, so a form that contains another is replaced whole.
  return [...forms].sort((a, b) => b.length - a.length);
}

/**
 * Redacts a log entry's own fields in place (winston builds a fresh object per entry). Nested objects and
 * errors are replaced by redacted copies, never changed: they belong to the caller. Keys naming a secret
 * are masked whatever their value says.
 */
export function redactEntry(entry: Record<string, unknown>): void {
  for (const key of Object.keys(entry)) entry[key] = redactField(key, entry[key], 0);
}

function redactField(key: string, value: unknown, depth: number): unknown {
  if (typeof value === "string") return SECRET_KEY.test(key) ? MASK : redactText(value);
  if (typeof value !== "object" || value === null) return value;
  if (value instanceof Error) return redactError(value);
  // Deeper than a log's meta usually goes: dropped rather than printed unchecked.
  if (depth >= 6) return "[nested too deep to check for credentials]";
  if (Array.isArray(value)) return value.map((item) => redactField(key, item, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const [name, item] of Object.entries(value)) copy[name] = redactField(name, item, depth + 1);
  return copy;
}

function redactError(error: Error): { name: string; message: string; stack?: string } {
  return {
    name: error.name,
    message: redactText(error.message),
    ...(error.stack === undefined ? {} : { stack: redactText(error.stack) }),
  };
}
