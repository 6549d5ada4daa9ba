/**
 * Socket Mode under the operator: two replicas against the API double, the tokens in a Secret. Each
 * replica holds its own connection to the Slack stand-in (Slack sends each envelope to one of them); a
 * click is run and answered in its thread once; deleting the Notifier closes both connections; a token
 * the Secret lacks is reported on the Notifier.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { RunningOperator } from "../../src/operator/index.ts";
import { SlackWebApi } from "../../src/slack/web-api.ts";
import type { KubeApiDouble, KubeObject } from "../support/kube-api/index.ts";
import { startPluginProcess, type StartedPlugin } from "../support/plugin-process.ts";
import {
  DEFAULT_APP_TOKEN,
  DEFAULT_BOT_TOKEN,
  DEFAULT_CHANNEL,
  startSlackApiStandIn,
  type SlackApiStandIn,
} from "../support/slack-api/index.ts";
import { blockActionsPayload } from "../support/slack-api/requests.ts";
import { attachSocketMode, type SocketModeStandIn } from "../support/slack-api/socket-mode.ts";
import { waitFor } from "../support/wait.ts";
import { conditionOf, plugin, ref, runOperator, startCluster, waitForCondition } from "./harness.ts";

const CHANNEL = DEFAULT_CHANNEL.id;

describe("Slack Socket Mode under two operator replicas", () => {
  let api: KubeApiDouble;
  let echo: StartedPlugin;
  let slack: SlackApiStandIn;
  let socketMode: SocketModeStandIn;
  let replicas: RunningOperator[] = [];

  before(async () => {
    [api, echo, slack] = await Promise.all([
      startCluster(),
      startPluginProcess("plugins/echo/main.ts"),
      startSlackApiStandIn(),
    ]);
    socketMode = attachSocketMode(slack);
    replicas = [
      await runOperator(api, "replica-a", new Map()),
      await runOperator(api, "replica-b", new Map()),
    ];
    api.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "slack-app", namespace: "team-a" },
      data: {
        "bot-token": Buffer.from(DEFAULT_BOT_TOKEN).toString("base64"),
        "app-token": Buffer.from(DEFAULT_APP_TOKEN).toString("base64"),
      },
    } as unknown as KubeObject);
    api.create(
      plugin("ExecutorPlugin", "echo", {
        prefixes: ["echo"],
        runtime: { external: { address: echo.address } },
      }),
    );
  });

  after(async () => {
    await Promise.all(replicas.map((replica) => replica.stop(500)));
    await echo?.stop();
    await socketMode?.close();
    await slack?.close();
    await api?.close();
  });

  const open = () => socketMode.connections().filter((connection) => connection.open);

  function notifier(appTokenKey: string) {
    return plugin("Notifier", "incidents", {
      type: "slack",
      slack: {
        botToken: { secretKeyRef: { name: "slack-app", key: "bot-token" } },
        channel: DEFAULT_CHANNEL.name,
        apiUrl: slack.apiUrl,
      },
      commands: {
        executors: ["echo"],
        slack: { appToken: { secretKeyRef: { name: "slack-app", key: appTokenKey } } },
      },
    });
  }

  it("every replica connects with the app-level token from the Secret; a click is answered in its thread once", async () => {
    api.create(notifier("app-token"));
    await waitForCondition(api, ref("Notifier", "incidents"), "Ready", { status: "True" });
    await waitFor(() => open().length === 2, { what: "a connection from each replica", timeoutMs: 15_000 });
    const poster = new SlackWebApi({ token: DEFAULT_BOT_TOKEN, apiUrl: slack.apiUrl });
    const root = await poster.call(
      "chat.postMessage",
      { channel: CHANNEL, text: "an alert" },
      AbortSignal.timeout(5_000),
    );
    if (root.kind !== "ok") throw new Error(root.reason);
    const ts = String(root.body.ts);
    const id = socketMode.send(
      "interactive",
      blockActionsPayload({ value: "echo from a replica", user: "U0ALICE", channel: CHANNEL, messageTs: ts }),
    );
    const replies = () => slack.thread(CHANNEL, ts)?.replies ?? [];
    await waitFor(() => replies().length === 1, { what: "the answer in the thread", timeoutMs: 10_000 });
    assert.ok(socketMode.acked(id));
    assert.match(replies()[0]!.text!, /`echo from a replica` \(echo\)\n```\nfrom a replica\n```/);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(replies().length, 1, "answered once");
  });

  it("deleting the Notifier closes the connection of every replica", async () => {
    api.delete(ref("Notifier", "incidents"));
    await waitFor(() => open().length === 0, { what: "every connection closed", timeoutMs: 15_000 });
  });

  it("an app token the Secret lacks is reported on the Notifier, without a connection", async () => {
    const before = socketMode.connections().length;
    api.create(notifier("missing-key"));
    const cr = await waitForCondition(api, ref("Notifier", "incidents"), "ConfigValid", {
      status: "False",
      reason: "ConfigInvalid",
    });
    assert.match(
      conditionOf(cr, "ConfigValid")!.message,
      /spec\.commands\.slack\.appToken: Secret team-a\/slack-app has no key 'missing-key'/,
    );
    assert.equal(socketMode.connections().length, before);
  });
});
