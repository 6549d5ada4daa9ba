/**
 * The `context` of a Mattermost button. Mattermost does not sign the requests it sends when a button
 * is clicked, and anyone who can reach the ingress can post one; so the context carries the command
 * with an HMAC-SHA256 over it (and over the notifier, channel and thread it was posted in), keyed per
 * notifier. The key is derived from the bot token, so every replica has it without another Secret, and
 * rotating the token retires the buttons already posted.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export interface ActionContext {
  /** The command line the button runs, e.g. "kubectl describe pod web-1 -n shop". */
  command: string;
  /** The channel the button was posted in. */
  channel_id: string;
  /** The thread's root post when the button's post is a reply; empty for a root post. */
  root_id: string;
  /** HMAC-SHA256 (hex) over the fields above and the notifier's name. */
  signature: string;
}

export type ContextCheck = { ok: true; context: ActionContext } | { ok: false; problem: string };

const LONGEST_COMMAND = 1024;

/** The notifier's button key: a separate HMAC key from the token, so the token itself never signs. */
export function actionKeyFromToken(botToken: string): Buffer {
  return createHmac("sha256", botToken).update("patchbay mattermost button context v1").digest();
}

export function signActionContext(
  key: Buffer,
  notifier: string,
  fields: Omit<ActionContext, "signature">,
): ActionContext {
  return { ...fields, signature: signatureOf(key, notifier, fields) };
}

/** Checks the context of a click: every field present and the signature this notifier's key gives. */
export function verifyActionContext(key: Buffer, notifier: string, context: unknown): ContextCheck {
  if (typeof context !== "object" || context === null || Array.isArray(context)) {
    return { ok: false, problem: "the request has no context object" };
  }
  const { command, channel_id, root_id, signature } = context as Record<string, unknown>;
  if (typeof command !== "string" || command === "" || command.length > LONGEST_COMMAND) {
    return { ok: false, problem: "the context has no command" };
  }
  if (typeof channel_id !== "string" || typeof root_id !== "string") {
    return { ok: false, problem: "the context lacks channel_id or root_id" };
  }
  if (typeof signature !== "string" || !/^[0-9a-f]{64}$/.test(signature)) {
    return { ok: false, problem: "the context carries no signature" };
  }
  const expected = Buffer.from(signatureOf(key, notifier, { command, channel_id, root_id }), "hex");
  if (!timingSafeEqual(expected, Buffer.from(signature, "hex"))) {
    return {
      ok: false,
      problem: `the context's signature does not match notifier "${notifier}": it was altered, or not posted by this notifier`,
    };
  }
  return { ok: true, context: { command, channel_id, root_id, signature } };
}

function signatureOf(key: Buffer, notifier: string, fields: Omit<ActionContext, "signature">): string {
  // Length-prefixed so no two field lists give the same signed text.
  const parts = [notifier, fields.channel_id, fields.root_id, fields.command];
  return createHmac("sha256", key)
    .update(parts.map((part) => `${Buffer.byteLength(part)}:${part}`).join("|"))
    .digest("hex");
}
