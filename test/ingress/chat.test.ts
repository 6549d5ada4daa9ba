import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Registry } from "prom-client";
import { CommandDispatcher } from "../../src/commands/index.ts";
import type { ChatChannel, RunningIngress } from "../../src/ingress/index.ts";
import type { RunningPlugin } from "@patchbay/sdk";
import { serveEcho } from "../commands/echo-plugin.ts";
import { GrpcExecutorDirectory } from "../commands/grpc-executors.ts";
import { FakeSources, json, RecordingSink, startTestIngress } from "./fakes.ts";

const SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
const MM_TOKEN = "xr3j5x3p4pfjpe"; // Mattermost-style token

/** A real HTTP server standing in for Slack's / Mattermost's response_url. */
class ResponseUrlReceiver {
  readonly posts: { path: string; contentType: string; body: unknown }[] = [];
  #server: Server | undefined;
  url = "";

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        if (req.url?.startsWith("/broken")) {
          res.writeHead(500).end();
          return;
        }
        this.posts.push({
          path: req.url ?? "",
          contentType: req.headers["content-type"] ?? "",
          body: JSON.parse(Buffer.concat(chunks).toString("utf8")),
        });
        res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.#server!.address() as AddressInfo).port}`;
  }

  async next(
    path: string,
    timeoutMs = 3_000,
  ): Promise<{ response_type: string; text: string; blocks?: unknown[] }> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const found = this.posts.find((p) => p.path === path);
      if (found) return found.body as { response_type: string; text: string };
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`nothing was posted to ${path} within ${timeoutMs} ms`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server!.close(() => resolve()));
  }
}

function slackSign(body: string, timestamp: number, secret = SIGNING_SECRET): Record<string, string> {
  const signature = "v0=" + createHmac("sha256", secret).update(`v0:${timestamp}:${body}`).digest("hex");
  return {
    "content-type": "application/x-www-form-urlencoded",
    "x-slack-request-timestamp": String(timestamp),
    "x-slack-signature": signature,
  };
}

function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

async function expectError(response: Response, status: number, code: string, message: RegExp): Promise<void> {
  const body = (await json(response)) as { error: { code: string; message: string } };
  assert.equal(response.status, status, JSON.stringify(body));
  assert.equal(body.error.code, code);
  assert.match(body.error.message, message);
}

describe("chat slash commands", () => {
  let echo: RunningPlugin;
  let shout: RunningPlugin;
  let directory: GrpcExecutorDirectory;
  let ingress: RunningIngress;
  const receiver = new ResponseUrlReceiver();
  const registry = new Registry();
  const channels: Record<string, ChatChannel> = {
    "ops-slack": { type: "slack", allowedExecutors: ["echo"], slackSigningSecret: SIGNING_SECRET },
    "ops-mm": { type: "mattermost", mattermostToken: MM_TOKEN },
    "alerts-only": { type: "slack" },
    "ops-access": {
      type: "slack",
      allowedExecutors: ["echo", "shout"],
      slackSigningSecret: SIGNING_SECRET,
      mattermostToken: MM_TOKEN,
      access: {
        groups: { sre: ["U123", "carol"] },
        access: [
          {
            users: ["U099XYZ", "alice"],
            executors: ["echo"],
            kubernetes: { user: "alice@example.com", groups: ["sre"] },
          },
          { groups: ["sre"], executors: ["shout"] },
        ],
      },
    },
  };

  before(async () => {
    [echo, shout] = await Promise.all([serveEcho("echo"), serveEcho("shout"), receiver.start()]);
    const common = { aliases: {}, ready: true, reason: "", timeoutMs: 2_000 };
    directory = new GrpcExecutorDirectory([
      { ...common, name: "echo", address: echo.address, prefixes: ["echo"] },
      { ...common, name: "shout", address: shout.address, prefixes: ["shout"] },
    ]);
    ingress = await startTestIngress(undefined, {
      sources: new FakeSources([]),
      sink: new RecordingSink(),
      commands: new CommandDispatcher({ executors: directory }),
      chat: { lookup: (name) => channels[name] },
      registry,
      auth: { tokens: ["bearer-is-not-used-for-chat"] },
      // The stand-in for Slack and Mattermost listens on loopback, which a real response_url may not name.
      responseUrls: { loopbackOriginsForTests: [receiver.url] },
    });
  });
  after(async () => {
    await ingress.close(100);
    directory.close();
    await Promise.all([echo.close(), shout.close(), receiver.close()]);
  });

  function slack(
    notifier: string,
    fields: Record<string, string>,
    headers?: Record<string, string>,
  ): Promise<Response> {
    const body = form(fields);
    return fetch(`${ingress.url}/chat/slack/${notifier}`, {
      method: "POST",
      headers: headers ?? slackSign(body, Math.floor(Date.now() / 1000)),
      body,
    });
  }

  const slackFields = (text: string, path: string) => ({
    token: "deprecated",
    command: "/patchbay",
    text,
    user_id: "U123",
    user_name: "alice",
    channel_id: "C9",
    response_url: `${receiver.url}${path}`,
  });

  test("Slack: a signed command is acknowledged at once and answered through response_url", async () => {
    const started = Date.now();
    const response = await slack("ops-slack", slackFields("echo --whoami", "/slack-1"));
    assert.equal(response.status, 200);
    assert.deepEqual(await json(response), { response_type: "ephemeral", text: "Running `echo --whoami` …" });
    assert.ok(Date.now() - started < 3_000);
    const answer = await receiver.next("/slack-1");
    assert.equal(answer.response_type, "in_channel");
    assert.equal(answer.text, "`echo --whoami` (echo)\n```\nU123|ops-slack|C9\n```");
    assert.match(receiver.posts.find((p) => p.path === "/slack-1")!.contentType, /^application\/json/);
  });

  test("Slack: the acknowledgement does not wait for a slow command", async () => {
    const started = Date.now();
    const response = await slack("ops-slack", slackFields("echo --sleep 800 done", "/slack-slow"));
    assert.equal(response.status, 200);
    await response.text();
    const acknowledgedAfter = Date.now() - started;
    assert.ok(acknowledgedAfter < 500, `acknowledged after ${acknowledgedAfter} ms`);
    const answer = await receiver.next("/slack-slow");
    assert.match(answer.text, /done/);
    assert.ok(Date.now() - started >= 800);
  });

  test("Slack: the notifier's executor allow-list applies, and refusals are answered too", async () => {
    const response = await slack("ops-slack", slackFields("shout hey", "/slack-2"));
    assert.equal(response.status, 200);
    const answer = await receiver.next("/slack-2");
    assert.match(
      answer.text,
      /^:warning: `shout hey` \(shout\) — not allowed: this channel may not use the executor "shout"/,
    );
  });

  test("Slack: empty text runs help, listing only what the channel may use", async () => {
    await slack("ops-slack", slackFields("", "/slack-3"));
    const answer = await receiver.next("/slack-3");
    assert.match(answer.text, /`echo` \(echo\)/);
    assert.doesNotMatch(answer.text, /shout/);
  });

  test("Slack: bad, stale and missing signatures are refused with 401 and nothing runs", async () => {
    const body = form(slackFields("echo nope", "/slack-bad"));
    const now = Math.floor(Date.now() / 1000);
    const bad = await fetch(`${ingress.url}/chat/slack/ops-slack`, {
      method: "POST",
      headers: slackSign(body, now, "wrong-secret"),
      body,
    });
    await expectError(bad, 401, "unauthenticated", /X-Slack-Signature does not match/);
    const tampered = await fetch(`${ingress.url}/chat/slack/ops-slack`, {
      method: "POST",
      headers: slackSign(body, now),
      body: body.replace("nope", "yes!"),
    });
    await expectError(tampered, 401, "unauthenticated", /does not match/);
    const stale = await fetch(`${ingress.url}/chat/slack/ops-slack`, {
      method: "POST",
      headers: slackSign(body, now - 301),
      body,
    });
    await expectError(stale, 401, "unauthenticated", /more than 300 s old are refused/);
    const missing = await fetch(`${ingress.url}/chat/slack/ops-slack`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
    });
    await expectError(missing, 401, "unauthenticated", /missing X-Slack-Request-Timestamp/);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(receiver.posts.filter((p) => p.path === "/slack-bad").length, 0);
  });

  test("unknown notifiers and notifiers without chat configuration: 404 with the reason", async () => {
    await expectError(
      await slack("nobody", slackFields("echo x", "/x")),
      404,
      "unknown-notifier",
      /no Notifier is named "nobody"/,
    );
    await expectError(
      await slack("alerts-only", slackFields("echo x", "/x")),
      404,
      "chat-not-configured",
      /"alerts-only" has no Slack slash commands/,
    );
    await expectError(
      await fetch(`${ingress.url}/chat/mattermost/ops-slack`, {
        method: "POST",
        body: form({ token: MM_TOKEN }),
      }),
      404,
      "chat-not-configured",
      /no Mattermost slash commands/,
    );
    await expectError(
      await fetch(`${ingress.url}/chat/slack/ops-slack`),
      405,
      "method-not-allowed",
      /use POST/,
    );
  });

  test("a signed request with an unusable response_url is refused", async () => {
    const response = await slack("ops-slack", {
      ...slackFields("echo x", ""),
      response_url: "file:///etc/passwd",
    });
    await expectError(response, 400, "malformed", /response_url must be an http\(s\) URL/);
  });

  test("Mattermost: the token is verified and the answer goes to response_url", async () => {
    const fields = {
      token: MM_TOKEN,
      command: "/patchbay",
      text: "echo --whoami",
      user_name: "bob",
      channel_id: "mm-chan",
      response_url: `${receiver.url}/mm-1`,
    };
    const response = await fetch(`${ingress.url}/chat/mattermost/ops-mm`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: form(fields),
    });
    assert.equal(response.status, 200);
    assert.equal(((await json(response)) as { response_type: string }).response_type, "ephemeral");
    const answer = await receiver.next("/mm-1");
    assert.equal(answer.response_type, "in_channel");
    assert.match(answer.text, /bob\|ops-mm\|mm-chan/);

    const wrong = await fetch(`${ingress.url}/chat/mattermost/ops-mm`, {
      method: "POST",
      body: form({ ...fields, token: "guess" }),
    });
    await expectError(wrong, 401, "unauthenticated", /token does not match/);
    const none = await fetch(`${ingress.url}/chat/mattermost/ops-mm`, {
      method: "POST",
      body: form({ text: "echo x" }),
    });
    await expectError(none, 401, "unauthenticated", /missing slash command token/);
  });

  test("Mattermost: the Authorization: Token header works, and without response_url the answer is synchronous", async () => {
    const response = await fetch(`${ingress.url}/chat/mattermost/ops-mm`, {
      method: "POST",
      headers: { authorization: `Token ${MM_TOKEN}` },
      body: form({ text: "shout sync", user_name: "bob" }),
    });
    assert.equal(response.status, 200);
    assert.deepEqual(await json(response), {
      response_type: "in_channel",
      text: "`shout sync` (shout)\n```\nsync\n```",
    });
  });

  test("an unreachable response_url is counted as a failed reply", async () => {
    await slack("ops-slack", slackFields("echo lost", "/broken"));
    const deadline = Date.now() + 4_000;
    let text = "";
    while (Date.now() < deadline) {
      text = await registry.metrics();
      if (/patchbay_chat_replies_total\{platform="slack",outcome="failed"\} 1/.test(text)) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.match(text, /patchbay_chat_replies_total\{platform="slack",outcome="failed"\} 1/);
    assert.match(text, /patchbay_chat_replies_total\{platform="slack",outcome="delivered"\} [1-9]/);
  });

  describe("per-user access (spec.commands.access)", () => {
    const asSlackUser = (userId: string, text: string, path: string, userName = "someone") =>
      slack("ops-access", { ...slackFields(text, path), user_id: userId, user_name: userName });

    test("Slack: the same command from two users, one runs as their Kubernetes identity and one is refused", async () => {
      await asSlackUser("U099XYZ", "echo --impersonation", "/access-allowed");
      const allowed = await receiver.next("/access-allowed");
      assert.equal(allowed.response_type, "in_channel");
      assert.equal(
        allowed.text,
        '`echo --impersonation` (echo)\n```\n{"user":"alice@example.com","groups":["sre"]}\n```',
      );

      const response = await asSlackUser("U777", "echo --impersonation", "/access-refused");
      assert.equal(response.status, 200);
      const refused = await receiver.next("/access-refused");
      // Like every answer; it names only the asker's own access.
      assert.equal(refused.response_type, "in_channel");
      assert.equal(
        refused.text,
        ':warning: `echo --impersonation` (echo) — not allowed: you (U777) are not allowed to use the executor "echo" here: no access rule of this channel names you. To run this command you need access to "echo": ask the channel\'s admins to grant it in the Notifier\'s spec.commands.access',
      );
    });

    test("Slack: a group member gets their rule's executors only, and is told what they have", async () => {
      await asSlackUser("U123", "shout --impersonation", "/access-group");
      assert.match((await receiver.next("/access-group")).text, /```\nnull\n```/);
      await asSlackUser("U123", "echo hi", "/access-group-refused");
      assert.match(
        (await receiver.next("/access-group-refused")).text,
        /not allowed: you \(U123\) are not allowed to use the executor "echo" here: your access covers only "shout"\./,
      );
    });

    test("Slack: a user_name is never matched (a Slack user can rename themselves), only the user_id", async () => {
      await asSlackUser("U666", "echo hi", "/access-renamed", "alice");
      assert.match((await receiver.next("/access-renamed")).text, /you \(U666\) are not allowed/);
    });

    test("Mattermost: a user name or a user id may be named", async () => {
      const mattermost = async (fields: Record<string, string>) => {
        const response = await fetch(`${ingress.url}/chat/mattermost/ops-access`, {
          method: "POST",
          headers: { authorization: `Token ${MM_TOKEN}` },
          body: form({ text: "echo --impersonation", ...fields }),
        });
        return ((await json(response)) as { text: string }).text;
      };
      assert.match(await mattermost({ user_name: "alice", user_id: "mm-1" }), /"alice@example\.com"/);
      assert.match(await mattermost({ user_name: "dave", user_id: "U099XYZ" }), /"alice@example\.com"/);
      assert.match(
        await mattermost({ user_name: "eve", user_id: "mm-2" }),
        // Mattermost's markdown escapes the parentheses.
        /you \\\(eve\\\) are not allowed to use the executor "echo" here: no access rule of this channel names you/,
      );
    });
  });
});
