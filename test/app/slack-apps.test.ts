/**
 * The data plane's Socket Mode connections follow the notifiers: one per notifier with an app-level
 * token, kept while its settings stay the same, replaced when they change, closed when the notifier goes
 * and when the data plane stops; refused (with the reason) for a token that is not an app-level one or is
 * shared by two notifiers.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Notifier } from "../../src/api/v1alpha1/index.ts";
import { DataPlane } from "../../src/app/index.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { LocalSecretResolver } from "../../src/secrets/index.ts";
import { DEFAULT_BOT_TOKEN, startSlackApiStandIn, type SlackApiStandIn } from "../support/slack-api/index.ts";
import { attachSocketMode, type SocketModeStandIn } from "../support/slack-api/socket-mode.ts";
import { waitFor } from "../support/wait.ts";

const APP_TOKEN_A = "xapp-1-A111-1111-first";
const APP_TOKEN_B = "xapp-1-A222-2222-second";

describe("Socket Mode connections in the data plane", () => {
  let slack: SlackApiStandIn;
  let socketMode: SocketModeStandIn;
  let plane: DataPlane;

  before(async () => {
    slack = await startSlackApiStandIn({ appTokens: [APP_TOKEN_A, APP_TOKEN_B] });
    socketMode = attachSocketMode(slack);
    plane = new DataPlane({
      ingress: { host: "127.0.0.1", port: 0 },
      management: { host: "127.0.0.1", port: 0 },
      secrets: new LocalSecretResolver({
        env: { BOT: DEFAULT_BOT_TOKEN, APP_A: APP_TOKEN_A, APP_B: APP_TOKEN_B },
      }),
      log: createLogger("slack-apps-test", "error"),
    });
  });
  after(async () => {
    await plane.stop(100);
    await socketMode.close();
    await slack.close();
  });

  function notifier(
    name: string,
    appTokenEnv: string | undefined,
    extra: Partial<Notifier["spec"]> = {},
  ): Notifier {
    return {
      apiVersion: "patchbay.dev/v1alpha1",
      kind: "Notifier",
      metadata: { name },
      spec: {
        type: "slack",
        slack: { botToken: { env: "BOT" }, channel: "alerts", apiUrl: slack.apiUrl },
        commands: {
          executors: ["kubectl"],
          slack: appTokenEnv ? { appToken: { env: appTokenEnv } } : { signingSecret: { value: "s" } },
        },
        ...extra,
      },
    };
  }

  const open = () => socketMode.connections().filter((connection) => connection.open);
  const opensWith = (token: string) =>
    slack.calls.filter(
      (call) => call.method === "apps.connections.open" && call.headers.authorization === `Bearer ${token}`,
    ).length;

  it("opens one connection per notifier with an app-level token, none for the HTTP-only one", async () => {
    const problems = await plane.setNotifiers([notifier("ops", "APP_A"), notifier("http-only", undefined)]);
    assert.deepEqual(problems, []);
    await waitFor(() => open().length === 1, { what: "one connection" });
    assert.equal(opensWith(APP_TOKEN_A), 1);
  });

  it("reports the connection and the envelopes it handled on /metrics", async () => {
    await waitFor(
      async () =>
        (await plane.registry.metrics()).includes('patchbay_slack_socket_mode_connected{notifier="ops"} 1'),
      {
        what: "the connected gauge",
      },
    );
    const id = socketMode.send("interactive", { type: "shortcut" });
    await waitFor(() => socketMode.acked(id), { what: "the ack" });
    const text = await plane.registry.metrics();
    assert.match(text, /patchbay_slack_socket_mode_envelopes_total\{notifier="ops",type="interactive"\} 1/);
    assert.doesNotMatch(text, /patchbay_slack_socket_mode_connected\{notifier="http-only"/);
  });

  it("keeps the connection when a notifier changes in what Socket Mode does not use", async () => {
    const problems = await plane.setNotifiers([
      notifier("ops", "APP_A", { filter: { minSeverity: "warning" } }),
      notifier("http-only", undefined),
    ]);
    assert.deepEqual(problems, []);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(opensWith(APP_TOKEN_A), 1);
    assert.equal(socketMode.connections().length, 1);
  });

  it("replaces the connection when the notifier's executors change: the new one first", async () => {
    const changed = notifier("ops", "APP_A");
    changed.spec.commands!.executors = ["kubectl", "echo"];
    assert.deepEqual(await plane.setNotifiers([changed]), []);
    await waitFor(() => socketMode.connections().length === 2 && open().length === 1, {
      what: "the new connection open and the old one closed",
    });
    const [old, replacement] = socketMode.connections();
    assert.equal(open()[0]!.number, 2);
    assert.ok(old!.closedAt! >= replacement!.openedAt, "the old connection closed after the new one opened");
  });

  it("refuses an app token shared by two notifiers, and a bot token given as the app token", async () => {
    const shared = await plane.setNotifiers([notifier("ops", "APP_A"), notifier("copy", "APP_A")]);
    assert.equal(shared.length, 1);
    assert.equal(shared[0]!.name, "copy");
    assert.match(shared[0]!.message, /is the same Slack app as notifier "ops"'s/);
    const wrongKind = await plane.setNotifiers([notifier("ops", "BOT")]);
    assert.equal(wrongKind.length, 1);
    assert.match(
      wrongKind[0]!.message,
      /spec\.commands\.slack\.appToken is not an app-level token \(xapp-…\)/,
    );
    assert.ok(!JSON.stringify([shared, wrongKind]).includes("xapp-1-"), "no token in the messages");
    assert.ok(!JSON.stringify(wrongKind).includes(DEFAULT_BOT_TOKEN));
    await waitFor(() => open().length === 0, { what: "the connection closed with its notifier's app gone" });
  });

  it("closes the connection when the notifier is deleted, and on stop", async () => {
    assert.deepEqual(await plane.setNotifiers([notifier("other", "APP_B")]), []);
    await waitFor(() => open().length === 1, { what: "the second app's connection" });
    assert.deepEqual(await plane.setNotifiers([]), []);
    await waitFor(() => open().length === 0, { what: "closed when the notifier is gone" });
    assert.deepEqual(await plane.setNotifiers([notifier("other", "APP_B")]), []);
    await waitFor(() => open().length === 1, { what: "opened again" });
    await plane.stop(100);
    await waitFor(() => open().length === 0, { what: "closed on stop" });
    assert.doesNotMatch(await plane.registry.metrics(), /patchbay_slack_socket_mode_connected\{[^}]*\} 1/);
  });
});
