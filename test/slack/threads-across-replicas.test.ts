/**
 * Threads with the event bus and two Patchbay processes: the alert is posted through one, its resolution
 * through the other once the first is gone. The second finds the thread's root in the bus's shared map
 * (a JetStream key-value bucket), so it updates the root and replies in the thread, as one process would.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { alertmanagerPayload, postAlertUntilAccepted } from "../support/alertmanager.ts";
import { prometheusSourceManifest } from "../support/local-manifests.ts";
import { NatsServer } from "../support/nats-server.ts";
import { startPatchbayLocal, type PatchbayLocal } from "../support/patchbay-local.ts";
import { DEFAULT_BOT_TOKEN, startSlackApiStandIn, type SlackApiStandIn } from "../support/slack-api/index.ts";
import { waitFor } from "../support/wait.ts";

const CHANNEL = "C0INCIDENT1";
const ALERT = {
  alertname: "KubePodCrashLooping",
  labels: { namespace: "shop", pod: "api-7c9d8f6b5-x2k4q" },
  fingerprint: "5c1e8d0b9a3f7e21",
  startsAt: "2026-12-01T04:00:00Z",
};

let nats: NatsServer;
let slack: SlackApiStandIn;
let dir: string;
const processes: PatchbayLocal[] = [];

before(async () => {
  nats = await NatsServer.start();
  slack = await startSlackApiStandIn({ channels: [{ id: CHANNEL, name: "incidents" }] });
  dir = await mkdtemp(path.join(tmpdir(), "patchbay-slack-replicas-"));
  const tokenFile = path.join(dir, "slack-bot-token");
  await writeFile(tokenFile, DEFAULT_BOT_TOKEN, { mode: 0o600 });
  await writeFile(
    path.join(dir, "plane.yaml"),
    `${prometheusSourceManifest()}---
apiVersion: patchbay.dev/v1alpha1
kind: Notifier
metadata: {name: incidents}
spec:
  type: slack
  slack:
    botToken: {file: ${JSON.stringify(tokenFile)}}
    channel: incidents
    apiUrl: ${JSON.stringify(slack.apiUrl)}
`,
  );
});

after(async () => {
  for (const process of processes) await process.stop();
  await slack?.close();
  await nats?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("Slack threads with two processes on one event bus", () => {
  it("the resolution delivered by the other process updates the root and replies in its thread", async () => {
    const first = await startPatchbayLocal(dir, ["--event-bus", nats.url]);
    processes.push(first);
    await postAlertUntilAccepted(`${first.url}/sources/alertmanager/`, alertmanagerPayload(ALERT));
    const root = await waitFor(() => slack.messages(CHANNEL)[0], { what: "the root", timeoutMs: 20_000 });
    assert.equal(await first.stop(), 0);

    const second = await startPatchbayLocal(dir, ["--event-bus", nats.url]);
    processes.push(second);
    await postAlertUntilAccepted(
      `${second.url}/sources/alertmanager/`,
      alertmanagerPayload({ ...ALERT, status: "resolved", endsAt: "2026-12-01T04:20:00Z" }),
    );
    await waitFor(() => root.edits === 1 && root.replies.length === 1, {
      what: "the root updated and the resolution in its thread",
      timeoutMs: 20_000,
    });
    assert.equal(slack.messages(CHANNEL).length, 1, "one thread, not a second root");
    assert.equal(root.replies[0]!.thread_ts, root.ts);
    assert.match(root.text!, /^Resolved: /);
  });
});
