/**
 * Issue 17, findings 4 and 5, over real sockets: a signed slash command cannot make Patchbay POST to an
 * address of the sender's choosing (a real server listening there sees no connection at all), and the
 * same signed Slack request delivered twice runs its command once.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo, LookupFunction } from "node:net";
import { Registry } from "prom-client";
import { CommandDispatcher } from "../../src/commands/index.ts";
import type { ChatChannel, RunningIngress } from "../../src/ingress/index.ts";
import { postJson, refusedResponseUrl } from "../../src/ingress/chat/response-url.ts";
import type { RunningPlugin } from "@patchbay/sdk";
import { serveEcho } from "../commands/echo-plugin.ts";
import { GrpcExecutorDirectory } from "../commands/grpc-executors.ts";
import { waitFor } from "../support/wait.ts";
import { FakeSources, json, RecordingSink, startTestIngress } from "./fakes.ts";

const SIGNING_SECRET = "e0f1d2c3b4a5968778695a4b3c2d1e0f";
const MM_TOKEN = "mm-token-4f9a";

/** A real server where a response_url could point: it records every connection and every request. */
class Listener {
  connections = 0;
  readonly requests: { path: string; body: string }[] = [];
  #server: Server | undefined;
  port = 0;

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (chunk: string) => (body += chunk));
      req.on("end", () => {
        this.requests.push({ path: req.url ?? "", body });
        res.writeHead(200).end("ok");
      });
    });
    this.#server.on("connection", () => this.connections++);
    // Every interface, so that 0.0.0.0, ::1 and IPv4-mapped addresses would reach it too.
    await new Promise<void>((resolve) => this.#server!.listen(0, "::", resolve));
    this.port = (this.#server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server!.close(() => resolve()));
  }
}

function slackHeaders(body: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  const signature =
    "v0=" + createHmac("sha256", SIGNING_SECRET).update(`v0:${timestamp}:${body}`).digest("hex");
  return {
    "content-type": "application/x-www-form-urlencoded",
    "x-slack-request-timestamp": String(timestamp),
    "x-slack-signature": signature,
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

describe("chat security", () => {
  let echo: RunningPlugin;
  let directory: GrpcExecutorDirectory;
  let ingress: RunningIngress;
  const listener = new Listener();
  const registry = new Registry();
  const channels: Record<string, ChatChannel> = {
    "ops-slack": { type: "slack", slackSigningSecret: SIGNING_SECRET },
    "ops-mm": {
      type: "mattermost",
      mattermostToken: MM_TOKEN,
      mattermostServerOrigin: "https://mattermost.example.com",
    },
  };

  before(async () => {
    [echo] = await Promise.all([serveEcho("echo"), listener.start()]);
    directory = new GrpcExecutorDirectory([
      {
        name: "echo",
        address: echo.address,
        prefixes: ["echo"],
        aliases: {},
        ready: true,
        reason: "",
        timeoutMs: 2_000,
      },
    ]);
    // The production policy: nothing configured, no test origins.
    ingress = await startTestIngress(undefined, {
      sources: new FakeSources([]),
      sink: new RecordingSink(),
      commands: new CommandDispatcher({ executors: directory, registry }),
      chat: { lookup: (name) => channels[name] },
      registry,
    });
  });
  after(async () => {
    await ingress.close(100);
    directory.close();
    await Promise.all([echo.close(), listener.close()]);
  });

  async function slack(text: string, responseUrl: string): Promise<Response> {
    const body = new URLSearchParams({ text, user_id: "U1", channel_id: "C1", response_url: responseUrl });
    return fetch(`${ingress.url}/chat/slack/ops-slack`, {
      method: "POST",
      headers: slackHeaders(body.toString()),
      body: body.toString(),
    });
  }

  test("Slack: a response_url on this machine, link-local or off Slack's hosts gets no connection; the answer comes back in the response", async () => {
    const port = listener.port;
    const refused: [string, RegExp][] = [
      [`http://127.0.0.1:${port}/own-port`, /127\.0\.0\.1 is a loopback, link-local or unspecified address/],
      [`http://127.1:${port}/short-form`, /127\.0\.0\.1 is a loopback/],
      [`http://2130706433:${port}/decimal`, /127\.0\.0\.1 is a loopback/],
      [`http://localhost:${port}/name`, /localhost is this machine/],
      [`http://LOCALHOST.:${port}/dotted`, /localhost is this machine/],
      [`http://[::1]:${port}/v6`, /::1 is a loopback/],
      [`http://[::ffff:127.0.0.1]:${port}/mapped`, /::ffff:7f00:1 is a loopback/],
      [`http://0.0.0.0:${port}/unspecified`, /0\.0\.0\.0 is a loopback, link-local or unspecified/],
      ["http://169.254.169.254/latest/meta-data/", /169\.254\.169\.254 is a loopback, link-local/],
      [
        "https://hooks.slack.com.evil.example/x",
        /host hooks\.slack\.com\.evil\.example is not one of Slack's hosts/,
      ],
      ["http://hooks.slack.com/commands/T1/2/x", /must use https, not http/],
      ["https://user:pw@hooks.slack.com/commands/T1/2/x", /carries credentials/],
    ];
    for (const [url, reason] of refused) {
      const response = await slack(`echo ${new URL(url).pathname}`, url);
      assert.equal(response.status, 200, url);
      const reply = (await json(response)) as { response_type: string; text: string };
      assert.equal(
        reply.response_type,
        "in_channel",
        `${url}: the command's answer, not the acknowledgement`,
      );
      assert.match(reply.text, /\(echo\)\n```\n/, url);
      assert.match(reply.text, /The answer was not posted to response_url: /, url);
      assert.match(reply.text, reason, url);
    }
    await settle();
    assert.equal(listener.connections, 0, "nothing connected to the listener");
    assert.deepEqual(listener.requests, []);
    const metrics = await registry.metrics();
    assert.match(
      metrics,
      new RegExp(`patchbay_chat_replies_total\\{platform="slack",outcome="refused"\\} ${refused.length}`),
    );
  });

  test("Mattermost: only the notifier's own server; elsewhere the answer comes back in the response", async () => {
    for (const url of [
      `http://127.0.0.1:${listener.port}/mm`,
      "https://elsewhere.example.com/hooks/x",
      "http://mattermost.example.com/hooks/x",
    ]) {
      const response = await fetch(`${ingress.url}/chat/mattermost/ops-mm`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token: MM_TOKEN, text: "echo mm", response_url: url }).toString(),
      });
      assert.equal(response.status, 200, url);
      const reply = (await json(response)) as { text: string };
      assert.match(reply.text, /\(echo\)/, url);
      assert.match(
        reply.text,
        /not posted to response_url: .*(loopback|not one of the notifier's Mattermost server \(https:\/\/mattermost\.example\.com\))/,
        url,
      );
    }
    await settle();
    assert.equal(listener.connections, 0);
  });

  test("Slack replay: the same signed request twice runs the command once; the second gets 409", async () => {
    const body = new URLSearchParams({
      text: "echo once",
      user_id: "U1",
      channel_id: "C1",
      response_url: `http://127.0.0.1:${listener.port}/replay`,
    }).toString();
    const headers = slackHeaders(body);
    const ran = async () =>
      Number(
        /patchbay_commands_total\{[^}]*executor="echo"[^}]*\} (\d+)/.exec(await registry.metrics())?.[1] ?? 0,
      );
    const ranBefore = await ran();
    const first = await fetch(`${ingress.url}/chat/slack/ops-slack`, { method: "POST", headers, body });
    assert.equal(first.status, 200);
    await first.text();
    await waitFor(async () => (await ran()) === ranBefore + 1, { what: "the first delivery's command" });
    const again = await fetch(`${ingress.url}/chat/slack/ops-slack`, { method: "POST", headers, body });
    const error = (await json(again)) as { error: { code: string; message: string } };
    assert.equal(again.status, 409, JSON.stringify(error));
    assert.equal(error.error.code, "replayed-request");
    assert.match(error.error.message, /already received; a Slack request is accepted once/);
    // The command did not run again: the executor's command counter did not move.
    await settle();
    assert.equal(await ran(), ranBefore + 1);
    // A new request (new timestamp, so a new signature) with the same text runs.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const fresh = await fetch(`${ingress.url}/chat/slack/ops-slack`, {
      method: "POST",
      headers: slackHeaders(body),
      body,
    });
    assert.equal(fresh.status, 200);
  });
});

describe("response_url policy", () => {
  test("allows Slack's documented host over https, configured hosts, and Mattermost's own server", () => {
    const slack = { platform: "slack" as const };
    assert.equal(
      refusedResponseUrl(new URL("https://hooks.slack.com/commands/T1/2/x"), slack, {}),
      undefined,
    );
    assert.equal(refusedResponseUrl(new URL("https://HOOKS.slack.com./commands/T1"), slack, {}), undefined);
    assert.match(
      refusedResponseUrl(new URL("https://hooks.slack-gov.com/commands/T1"), slack, {}) ?? "",
      /not one of Slack's hosts \(hooks\.slack\.com; PATCHBAY_SLACK_RESPONSE_URL_HOSTS\)/,
    );
    const gov = { slackHosts: ["hooks.slack-gov.com"] };
    assert.equal(
      refusedResponseUrl(new URL("https://hooks.slack-gov.com/commands/T1"), slack, gov),
      undefined,
    );
    assert.match(refusedResponseUrl(new URL("https://hooks.slack.com/x"), slack, gov) ?? "", /not one of/);
    // An allow-list cannot open loopback.
    assert.match(
      refusedResponseUrl(new URL("https://127.0.0.1/x"), slack, { slackHosts: ["127.0.0.1"] }) ?? "",
      /loopback/,
    );

    const mm = { platform: "mattermost" as const, mattermostServerOrigin: "http://mm.internal:8065" };
    assert.equal(refusedResponseUrl(new URL("http://mm.internal:8065/hooks/abc"), mm, {}), undefined);
    assert.match(
      refusedResponseUrl(new URL("http://mm.internal:9999/hooks/abc"), mm, {}) ?? "",
      /not one of/,
    );
    assert.equal(
      refusedResponseUrl(new URL("https://chat.example.com/hooks/abc"), mm, {
        mattermostHosts: ["chat.example.com"],
      }),
      undefined,
    );
    assert.match(
      refusedResponseUrl(new URL("https://mm.example/hooks"), { platform: "mattermost" }, {}) ?? "",
      /unknown: the notifier has no mattermost\.webhookUrl/,
    );
  });

  test("a name that DNS resolves to loopback is refused when connecting; the listener sees nothing", async () => {
    const listener = new Listener();
    await listener.start();
    try {
      // A resolver that answers what a hostile DNS would: the name is allowed, its address is this machine.
      const toLoopback: LookupFunction = (_hostname, options, callback) => {
        if (options.all) callback(null, [{ address: "127.0.0.1", family: 4 }]);
        else callback(null, "127.0.0.1", 4);
      };
      const origin = `http://rebound.example:${listener.port}`;
      await assert.rejects(postJson(`${origin}/x`, "{}", 2_000, { lookup: toLoopback }), {
        code: "EADDRNOTALLOWED",
        message:
          /rebound\.example resolves to 127\.0\.0\.1 is a loopback, link-local or unspecified address; refused/,
      });
      assert.equal(listener.connections, 0);
      // The same resolver does reach the listener when the check is lifted: the refusal above was the guard.
      const delivered = await postJson(`${origin}/control`, "{}", 2_000, {
        lookup: toLoopback,
        loopbackOriginsForTests: [origin],
      });
      assert.equal(delivered.status, 200);
      assert.deepEqual(listener.requests, [{ path: "/control", body: "{}" }]);
    } finally {
      await listener.close();
    }
  });
});
