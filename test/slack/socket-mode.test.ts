/**
 * The Socket Mode client against the stand-in over real loopback sockets: apps.connections.open with the
 * app-level token, hello, an ack for every envelope, re-sent envelopes handled once, a connection dropped
 * mid-stream, Slack's disconnect refresh, and close() leaving nothing behind.
 */
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import winston from "winston";
import { createLogger, type Logger } from "../../src/observability/logger.ts";
import { SlackSocketMode, type SocketModeEnvelope } from "../../src/slack/socket-mode.ts";
import { SlackWebApi } from "../../src/slack/web-api.ts";
import {
  DEFAULT_APP_TOKEN,
  DEFAULT_BOT_TOKEN,
  startSlackApiStandIn,
  type SlackApiStandIn,
} from "../support/slack-api/index.ts";
import { attachSocketMode, type SocketModeStandIn } from "../support/slack-api/socket-mode.ts";
import { waitFor } from "../support/wait.ts";

function capturedLogger(): { log: Logger; output: () => string } {
  const log = createLogger("socket-mode-test", "debug");
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
  log.clear();
  log.add(new winston.transports.Stream({ stream }));
  return { log, output: () => text };
}

describe("Slack Socket Mode client", () => {
  let api: SlackApiStandIn;
  let slack: SocketModeStandIn;
  let client: SlackSocketMode | undefined;
  let handled: SocketModeEnvelope[];
  let logs: () => string;

  before(async () => {
    api = await startSlackApiStandIn();
  });
  after(() => api.close());
  beforeEach(() => {
    slack = attachSocketMode(api, { ackDeadlineMs: 300 });
    handled = [];
  });
  afterEach(async () => {
    await client?.close();
    client = undefined;
    await slack.close();
  });

  function connect(token = DEFAULT_APP_TOKEN): SlackSocketMode {
    const captured = capturedLogger();
    logs = captured.output;
    client = new SlackSocketMode({
      api: new SlackWebApi({ token, apiUrl: api.apiUrl }),
      onEnvelope: (envelope) => handled.push(envelope),
      log: captured.log,
      backoff: { initialMs: 20, maxMs: 200 },
    });
    client.start();
    return client;
  }

  const handledIds = () => handled.map((envelope) => envelope.envelope_id);

  test("connects with the app-level token, acknowledges each envelope at once and hands it over", async () => {
    const socket = connect();
    await waitFor(() => socket.connected, { what: "the hello" });
    const open = api.calls.filter((call) => call.method === "apps.connections.open");
    assert.equal(open.length, 1);
    assert.equal(open[0]!.headers.authorization, `Bearer ${DEFAULT_APP_TOKEN}`);
    const payload = { type: "block_actions", actions: [{ action_id: "patchbay.run", value: "echo hi" }] };
    const id = slack.send("interactive", payload);
    await waitFor(() => slack.acked(id), { what: "the ack" });
    await waitFor(() => handled.length === 1, { what: "the envelope handed over" });
    assert.equal(handled[0]!.envelope_id, id);
    assert.equal(handled[0]!.type, "interactive");
    assert.deepEqual(handled[0]!.payload, payload);
    assert.ok(slack.acks[0]!.afterMs < 3_000, `acked after ${slack.acks[0]!.afterMs} ms`);
    assert.deepEqual(slack.problems, []);
  });

  test("an envelope Slack sends again because its ack was lost is acknowledged again and handled once", async () => {
    const socket = connect();
    await waitFor(() => socket.connected, { what: "the hello" });
    slack.loseAcks(2);
    const id = slack.send("events_api", { type: "event_callback", event: { type: "app_mention" } });
    await waitFor(() => slack.acked(id), { what: "an ack that arrives", timeoutMs: 5_000 });
    const attempts = slack.sent.filter((envelope) => envelope.envelope_id === id);
    assert.deepEqual(
      attempts.map((envelope) => [envelope.retry_attempt, envelope.retry_reason]),
      [
        [0, ""],
        [1, "timeout"],
        [2, "timeout"],
      ],
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(handledIds(), [id]);
  });

  test("a connection dropped mid-stream is reopened and no envelope is lost or handled twice", async () => {
    const socket = connect();
    await waitFor(() => socket.connected, { what: "the hello" });
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      ids.push(slack.send("interactive", { n: i }));
      if (i === 19) slack.drop();
      if (i % 5 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await waitFor(() => ids.every((id) => slack.acked(id)), {
      what: "every envelope acked",
      timeoutMs: 8_000,
    });
    await waitFor(() => handled.length >= ids.length, { what: "every envelope handled" });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual([...handledIds()].sort(), [...ids].sort(), "each envelope handled exactly once");
    assert.ok(slack.connections().length >= 2, "a second connection was opened");
    assert.ok(
      slack.sent.some((envelope) => envelope.retry_attempt > 0),
      "envelopes unacknowledged at the drop were sent again",
    );
    assert.ok(socket.connected);
    assert.match(logs(), /the connection dropped; reconnecting/);
    assert.deepEqual(slack.problems, []);
  });

  test("a disconnect (refresh_requested) opens the new connection before the old one goes", async () => {
    const socket = connect();
    await waitFor(() => socket.connected, { what: "the hello" });
    // Slack would close the old connection itself 5 s later; the client must not wait for that.
    slack.disconnect("refresh_requested", 5_000);
    const [first, second] = await waitFor(
      () => {
        const connections = slack.connections();
        return connections.length === 2 && connections;
      },
      { what: "a second connection" },
    );
    assert.equal(second!.open, true);
    await waitFor(() => !slack.connections()[0]!.open, { what: "the old connection closed by the client" });
    assert.equal(first!.number, 1);
    const [old, replacement] = slack.connections();
    assert.ok(old!.closedAt! >= replacement!.openedAt, "the old connection closed after the new one opened");
    const id = slack.send("interactive", { after: "refresh" });
    await waitFor(() => handledIds().includes(id), { what: "an envelope on the new connection" });
    assert.equal(slack.sent.at(-1)!.connection, 2);
    assert.match(logs(), /connection replaced/);
    assert.doesNotMatch(logs(), /dropped/);
  });

  test("link_disabled is logged as an error and not answered with a new connection until Slack closes", async () => {
    const socket = connect();
    await waitFor(() => socket.connected, { what: "the hello" });
    slack.disconnect("link_disabled", 300);
    await waitFor(() => /Socket Mode is turned off for this app/.test(logs()), { what: "the error" });
    assert.equal(slack.connections().length, 1, "no replacement for a disabled link");
    // Slack closes the connection; reconnecting is then retried with backoff, as after any drop.
    await waitFor(() => slack.connections().length === 2 && socket.connected, { what: "a reconnect" });
    assert.match(logs(), /"level":"error"/);
  });

  test("a bot token is refused by apps.connections.open: retried with backoff, logged without the token", async () => {
    const earlier = api.calls.length;
    const opens = () => api.calls.slice(earlier).filter((call) => call.method === "apps.connections.open");
    connect(DEFAULT_BOT_TOKEN);
    await waitFor(() => opens().length >= 3, { what: "retries" });
    const answers = opens().map((call) => call.answer);
    for (const answer of answers) assert.deepEqual(answer, { ok: false, error: "not_allowed_token_type" });
    assert.equal(slack.connections().length, 0);
    assert.match(logs(), /not_allowed_token_type/);
    assert.ok(!logs().includes(DEFAULT_BOT_TOKEN));
  });

  test("close() closes the connection, stops reconnecting and leaves no timer running", async () => {
    const timersBefore = process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
    const socket = connect();
    await waitFor(() => socket.connected, { what: "the hello" });
    const opened = api.calls.length;
    await socket.close();
    client = undefined;
    await waitFor(() => !slack.connections()[0]!.open, { what: "the stand-in to see the close" });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(api.calls.length, opened, "no reconnection after close()");
    const timersAfter = process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
    assert.ok(timersAfter <= timersBefore, `${timersAfter} timers after close, ${timersBefore} before`);
  });
});
