/**
 * The signed context of a Mattermost button: Mattermost signs nothing it sends, so this signature is all
 * that stops a request from running a command the notifier never offered. Every way a context can be
 * wrong is refused with the reason; only the exact fields this notifier signed pass.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import {
  actionKeyFromToken,
  signActionContext,
  verifyActionContext,
  type ActionContext,
} from "../../src/mattermost/action-context.ts";

const KEY = actionKeyFromToken("q1w2e3r4t5y6u7i8o9p0a1s2d3");
const FIELDS = { command: "kubectl describe pod web-1 -n shop", channel_id: "c".repeat(26), root_id: "" };
const signed = signActionContext(KEY, "ops-mm", FIELDS);

function refusal(context: unknown, key = KEY, notifier = "ops-mm"): string {
  const check = verifyActionContext(key, notifier, context);
  assert.equal(check.ok, false, `accepted: ${JSON.stringify(context)}`);
  return (check as { problem: string }).problem;
}

describe("Mattermost button contexts", () => {
  it("a context this notifier signed passes, with exactly its fields", () => {
    assert.match(signed.signature, /^[0-9a-f]{64}$/);
    assert.deepEqual(verifyActionContext(KEY, "ops-mm", { ...signed, extra: "ignored" }), {
      ok: true,
      context: signed,
    });
    const reply = signActionContext(KEY, "ops-mm", { ...FIELDS, root_id: "r".repeat(26) });
    assert.equal(verifyActionContext(KEY, "ops-mm", reply).ok, true);
  });

  it("any field changed, another notifier, or another key: the signature does not match", () => {
    const altered: ActionContext[] = [
      { ...signed, command: "kubectl get secrets -A" },
      { ...signed, channel_id: "d".repeat(26) },
      { ...signed, root_id: "r".repeat(26) },
    ];
    for (const context of altered) {
      assert.equal(
        refusal(context),
        'the context\'s signature does not match notifier "ops-mm": it was altered, or not posted by this notifier',
      );
    }
    assert.match(refusal(signed, KEY, "other"), /does not match notifier "other"/);
    assert.match(refusal(signed, actionKeyFromToken("another-token")), /does not match/);
  });

  it("fields are length-prefixed: moving text between them changes the signature", () => {
    const a = signActionContext(KEY, "ab", { command: "c", channel_id: "x", root_id: "" });
    const b = signActionContext(KEY, "a", { command: "c", channel_id: "bx", root_id: "" });
    const c = signActionContext(KEY, "ops", { command: "x", channel_id: "a", root_id: "b" });
    const d = signActionContext(KEY, "ops", { command: "bx", channel_id: "a", root_id: "" });
    assert.notEqual(a.signature, b.signature);
    assert.notEqual(c.signature, d.signature);
  });

  it("refuses what is not a context, naming what is missing", () => {
    for (const context of [undefined, null, "ctx", 7, [signed]])
      assert.equal(refusal(context), "the request has no context object");
    for (const command of [undefined, "", 7, "k".repeat(1025)])
      assert.equal(refusal({ ...signed, command }), "the context has no command");
    const longest = signActionContext(KEY, "ops-mm", { ...FIELDS, command: "k".repeat(1024) });
    assert.equal(verifyActionContext(KEY, "ops-mm", longest).ok, true, "1,024 characters pass");
    for (const missing of [{ channel_id: undefined }, { root_id: 5 }, { channel_id: null }])
      assert.equal(refusal({ ...signed, ...missing }), "the context lacks channel_id or root_id");
    for (const signature of [
      undefined,
      "",
      "xyz",
      signed.signature.toUpperCase(),
      `${signed.signature}00`,
      signed.signature.slice(2),
      ` ${signed.signature}`,
    ])
      assert.equal(refusal({ ...signed, signature }), "the context carries no signature");
  });

  it("the key is derived from the bot token, one per token, and is not the token's plain hash", () => {
    assert.equal(KEY.length, 32);
    assert.deepEqual(actionKeyFromToken("q1w2e3r4t5y6u7i8o9p0a1s2d3"), KEY);
    assert.notDeepEqual(actionKeyFromToken("another-token"), KEY);
    assert.notDeepEqual(KEY, createHash("sha256").update("q1w2e3r4t5y6u7i8o9p0a1s2d3").digest());
  });
});
