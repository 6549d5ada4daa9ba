/**
 * The Mattermost API stand-in refuses what Mattermost refuses, so the bot notifier's tests mean
 * something: no or a wrong Bearer token, a body that is not JSON, a channel the bot is not in, a
 * root_id that is not a root post of that channel, an over-long message, malformed attachments, a
 * patch of a post that does not exist.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  MESSAGE_MAX_RUNES,
  newId,
  startMattermostApi,
  type MattermostStandIn,
} from "../support/mattermost-api/index.ts";

const TOKEN = "z1x2c3v4b5n6m7a8s9d0f1g2h3";
const CHANNEL = newId();

describe("the Mattermost API stand-in", () => {
  let mattermost: MattermostStandIn;
  before(async () => {
    mattermost = await startMattermostApi({ botToken: TOKEN, channelIds: [CHANNEL] });
  });
  after(() => mattermost.close());

  async function call(
    method: string,
    path: string,
    body: unknown,
    headers: Record<string, string> = {
      authorization: `Bearer ${TOKEN}`,
      "content-type": "application/json",
    },
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`${mattermost.url}${path}`, {
      method,
      headers,
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it("creates posts as Mattermost's Post objects, and threads them under a root", async () => {
    const root = await call("POST", "/api/v4/posts", { channel_id: CHANNEL, message: "root" });
    assert.equal(root.status, 201);
    assert.match(root.body.id as string, /^[a-z0-9]{26}$/);
    assert.equal(typeof root.body.create_at, "number");
    assert.equal(root.body.user_id, mattermost.botUserId);
    const reply = await call("POST", "/api/v4/posts", {
      channel_id: CHANNEL,
      message: "reply",
      root_id: root.body.id,
    });
    assert.equal(reply.status, 201);
    assert.equal(reply.body.root_id, root.body.id);
    // A reply to a reply is refused: root_id must name a root post.
    const nested = await call("POST", "/api/v4/posts", {
      channel_id: CHANNEL,
      message: "x",
      root_id: reply.body.id,
    });
    assert.equal(nested.status, 400);
    assert.equal(nested.body.id, "api.post.create_post.root_id.app_error");
  });

  it("refuses what Mattermost refuses, with its error shape", async () => {
    const post = (body: unknown) => call("POST", "/api/v4/posts", body);
    const cases: [Promise<{ status: number; body: Record<string, unknown> }>, number, RegExp][] = [
      [
        call(
          "POST",
          "/api/v4/posts",
          { channel_id: CHANNEL, message: "x" },
          { "content-type": "application/json" },
        ),
        401,
        /session/,
      ],
      [
        call(
          "POST",
          "/api/v4/posts",
          { channel_id: CHANNEL, message: "x" },
          { authorization: "Bearer wrong", "content-type": "application/json" },
        ),
        401,
        /session/,
      ],
      [call("POST", "/api/v4/posts", "{not json"), 400, /request body/],
      [post({ channel_id: newId(), message: "x" }), 403, /permissions/],
      [post({ channel_id: CHANNEL, message: "x", root_id: newId() }), 400, /RootId/],
      [
        post({ channel_id: CHANNEL, message: "x".repeat(MESSAGE_MAX_RUNES + 1) }),
        400,
        /16383 characters or less/,
      ],
      [post({ channel_id: CHANNEL, message: "" }), 400, /message or attachments/],
      [
        post({
          channel_id: CHANNEL,
          message: "",
          props: { attachments: [{ fields: [{ title: "a", value: 1 }] }] },
        }),
        400,
        /string title and value/,
      ],
      [
        post({
          channel_id: CHANNEL,
          message: "",
          props: {
            attachments: [{ actions: [{ id: "de-scribe", name: "D", integration: { url: "http://x/" } }] }],
          },
        }),
        400,
        /letters and digits/,
      ],
      [
        post({
          channel_id: CHANNEL,
          message: "",
          props: { attachments: [{ actions: [{ id: "d", name: "D", integration: { url: "ftp://x/" } }] }] },
        }),
        400,
        /http\(s\) URL/,
      ],
      [call("PUT", `/api/v4/posts/${newId()}/patch`, { message: "x" }), 404, /get the post/],
    ];
    for (const [answer, status, message] of cases) {
      const { status: got, body } = await answer;
      assert.equal(got, status, JSON.stringify(body));
      assert.equal(body.status_code, status);
      assert.match(body.message as string, message);
    }
    // A message of exactly the limit, counted in characters (runes), not bytes, is accepted.
    assert.equal((await post({ channel_id: CHANNEL, message: "é".repeat(MESSAGE_MAX_RUNES) })).status, 201);
  });

  it("answers 429 with Mattermost's rate limit headers for the next N calls, then serves again", async () => {
    mattermost.rateLimitNext(2, 3);
    for (let i = 0; i < 2; i++) {
      const response = await fetch(`${mattermost.url}/api/v4/posts`, { method: "POST" });
      await response.text();
      assert.equal(response.status, 429);
      assert.equal(response.headers.get("x-ratelimit-reset"), "3");
      assert.equal(response.headers.get("retry-after"), "3");
    }
    assert.equal((await call("POST", "/api/v4/posts", { channel_id: CHANNEL, message: "x" })).status, 201);
  });
});
