/**
 * With Socket Mode on, Slack sends the app's slash commands over the socket, not to the HTTP endpoint:
 * they run as over HTTP (the user, the notifier's executor limits) and are answered through their
 * response_url, which is held to Slack's hosts as over HTTP.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { RunningPlugin } from "@patchbay/sdk";
import { CommandDispatcher, type CommandRequest } from "../../src/commands/index.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { SlackChatRequests } from "../../src/slack/chat-requests.ts";
import { SlackSocketMode } from "../../src/slack/socket-mode.ts";
import { SlackWebApi } from "../../src/slack/web-api.ts";
import { serveEcho } from "../commands/echo-plugin.ts";
import { GrpcExecutorDirectory } from "../commands/grpc-executors.ts";
import {
  DEFAULT_APP_TOKEN,
  DEFAULT_BOT_TOKEN,
  startSlackApiStandIn,
  type SlackApiStandIn,
} from "../support/slack-api/index.ts";
import { attachSocketMode, type SocketModeStandIn } from "../support/slack-api/socket-mode.ts";
import { waitFor } from "../support/wait.ts";

describe("slash commands over Socket Mode", () => {
  let echo: RunningPlugin;
  let directory: GrpcExecutorDirectory;
  let slack: SlackApiStandIn;
  let socketMode: SocketModeStandIn;
  let client: SlackSocketMode;
  let responseUrl: Server;
  let responseOrigin: string;
  const answers: { path: string; body: { response_type: string; text: string } }[] = [];
  const dispatched: CommandRequest[] = [];

  before(async () => {
    [echo, slack] = await Promise.all([serveEcho("echo"), startSlackApiStandIn()]);
    socketMode = attachSocketMode(slack);
    responseUrl = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => (body += chunk.toString()));
      request.on("end", () => {
        answers.push({ path: request.url ?? "", body: JSON.parse(body) as (typeof answers)[number]["body"] });
        response.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((resolve) => responseUrl.listen(0, "127.0.0.1", resolve));
    responseOrigin = `http://127.0.0.1:${(responseUrl.address() as AddressInfo).port}`;
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
    const dispatcher = new CommandDispatcher({ executors: directory });
    const log = createLogger("socket-slash-test", "error");
    const requests = new SlackChatRequests({
      notifier: "team-slack",
      commands: {
        dispatch: (request) => {
          dispatched.push(request);
          return dispatcher.dispatch(request);
        },
      },
      allowedExecutors: ["echo"],
      api: new SlackWebApi({ token: DEFAULT_BOT_TOKEN, apiUrl: slack.apiUrl }),
      // Slack's hooks.slack.com stands on loopback here, which a real response_url may not name.
      responseUrls: { loopbackOriginsForTests: [responseOrigin] },
      log,
    });
    client = new SlackSocketMode({
      api: new SlackWebApi({ token: DEFAULT_APP_TOKEN, apiUrl: slack.apiUrl }),
      onEnvelope: (envelope) => requests.handleEnvelope(envelope),
      log,
    });
    client.start();
    await waitFor(() => client.connected, { what: "the Socket Mode connection" });
  });
  after(async () => {
    await client.close();
    await socketMode.close();
    directory.close();
    await Promise.all([echo.close(), slack.close(), new Promise((resolve) => responseUrl.close(resolve))]);
  });

  const slash = (text: string, url: string) => ({
    token: "deprecated",
    team_id: "T0PATCHBAY",
    channel_id: "C0PATCHBAY1",
    user_id: "U0ALICE",
    user_name: "alice",
    command: "/patchbay",
    text,
    api_app_id: "A0PATCHBAY",
    response_url: url,
    trigger_id: "1.2.3",
  });

  it("runs as the user who typed it and answers through response_url", async () => {
    const id = socketMode.send("slash_commands", slash("echo --whoami", `${responseOrigin}/commands/1`));
    const answer = await waitFor(() => answers.find((a) => a.path === "/commands/1"), { what: "the answer" });
    assert.ok(socketMode.acked(id));
    assert.deepEqual(answer.body, {
      response_type: "in_channel",
      text: "`echo --whoami` (echo)\n```\nU0ALICE|team-slack|C0PATCHBAY1\n```",
    });
  });

  it("runs nothing when the response_url is not one of Slack's hosts", async () => {
    const before = dispatched.length;
    const id = socketMode.send("slash_commands", slash("echo hi", "https://collector.example/steal"));
    await waitFor(() => socketMode.acked(id), { what: "the ack" });
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(dispatched.length, before);
  });
});
