/**
 * The Socket Mode stand-in refuses what Slack refuses, so that a client passing against it passes for a
 * reason: a WebSocket URL is good for one connection, a bot token cannot open one, a frame that is not an
 * ack is reported, and an envelope nobody acknowledges is sent again a bounded number of times.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  DEFAULT_APP_TOKEN,
  DEFAULT_BOT_TOKEN,
  startSlackApiStandIn,
  type SlackApiStandIn,
} from "../support/slack-api/index.ts";
import { attachSocketMode, type SocketModeStandIn } from "../support/slack-api/socket-mode.ts";
import { waitFor } from "../support/wait.ts";

describe("the Socket Mode stand-in", () => {
  let api: SlackApiStandIn;
  let slack: SocketModeStandIn;
  const sockets: WebSocket[] = [];

  before(async () => {
    api = await startSlackApiStandIn();
    slack = attachSocketMode(api, { ackDeadlineMs: 100, maxRetries: 2 });
  });
  after(async () => {
    for (const socket of sockets) socket.close();
    await slack.close();
    await api.close();
  });

  async function open(token: string): Promise<Record<string, unknown>> {
    const response = await fetch(`${api.apiUrl}apps.connections.open`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json; charset=utf-8" },
      body: "{}",
    });
    return (await response.json()) as Record<string, unknown>;
  }

  /** Connects and collects every message; resolves with the messages once connected, or rejects. */
  function connect(url: string): Promise<{ socket: WebSocket; messages: Record<string, unknown>[] }> {
    const socket = new WebSocket(url);
    sockets.push(socket);
    const messages: Record<string, unknown>[] = [];
    socket.addEventListener("message", (event) => messages.push(JSON.parse(String(event.data))));
    return new Promise((resolve, reject) => {
      socket.addEventListener("open", () => resolve({ socket, messages }));
      socket.addEventListener("error", () => reject(new Error("refused")));
    });
  }

  it("opens a connection for an app-level token only, and each URL once", async () => {
    assert.deepEqual(await open(DEFAULT_BOT_TOKEN), { ok: false, error: "not_allowed_token_type" });
    assert.deepEqual(await open("xapp-1-unknown"), { ok: false, error: "invalid_auth" });
    const answer = await open(DEFAULT_APP_TOKEN);
    assert.equal(answer.ok, true);
    const url = String(answer.url);
    assert.match(url, /^ws:\/\/127\.0\.0\.1:\d+\/link\/\?ticket=[0-9a-f]{32}&app_id=/);
    const { messages } = await connect(url);
    await waitFor(() => messages[0], { what: "hello" });
    assert.equal(messages[0]!.type, "hello");
    await assert.rejects(connect(url), /refused/, "a used ticket");
    await assert.rejects(connect(url.replace(/ticket=\w+/, "ticket=forged")), /refused/, "an unknown ticket");
  });

  it("reports frames that are not acks, and sends an unacknowledged envelope again, a bounded number of times", async () => {
    const { socket, messages } = await connect(String((await open(DEFAULT_APP_TOKEN)).url));
    await waitFor(() => messages.some((message) => message.type === "hello"), { what: "hello" });
    socket.send("not json");
    socket.send(JSON.stringify({ envelope_id: "never-sent" }));
    const id = slack.send("interactive", { type: "block_actions" });
    await waitFor(() => slack.sent.filter((envelope) => envelope.envelope_id === id).length === 3, {
      what: "two re-sends",
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const attempts = messages.filter((message) => message.envelope_id === id);
    assert.deepEqual(
      attempts.map((message) => [message.retry_attempt, message.retry_reason]),
      [
        [0, ""],
        [1, "timeout"],
        [2, "timeout"],
      ],
    );
    assert.equal(slack.acked(id), false);
    assert.deepEqual(slack.problems, [
      "connection 2: not an ack: not json",
      "connection 2: ack for an envelope never sent: never-sent",
    ]);
  });
});
