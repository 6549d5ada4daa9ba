/**
 * The Slack app notifier in the real `patchbay local` process: the prometheus source takes an
 * Alertmanager payload, and the alert, its repeat and its resolution reach the Slack API stand-in as one
 * thread, the root resolved and carrying a Describe button for the alert's pod.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { alertmanagerPayload, postAlertUntilAccepted } from "../support/alertmanager.ts";
import { prometheusSourceManifest } from "../support/local-manifests.ts";
import { startPatchbayLocal, type PatchbayLocal } from "../support/patchbay-local.ts";
import { DEFAULT_BOT_TOKEN, startSlackApiStandIn, type SlackApiStandIn } from "../support/slack-api/index.ts";
import { waitFor } from "../support/wait.ts";

const CHANNEL = "C0INCIDENT1";
let slack: SlackApiStandIn;
let local: PatchbayLocal;
let dir: string;

function payload(status: "firing" | "resolved", startsAt: string, endsAt?: string) {
  return alertmanagerPayload({
    alertname: "KubePodCrashLooping",
    status,
    startsAt,
    endsAt,
    labels: { namespace: "shop", pod: "api-7c9d8f6b5-x2k4q", severity: "critical" },
    summary: "Pod shop/api is crash looping",
    fingerprint: "5c1e8d0b9a3f7e21",
  });
}

async function postAlert(body: unknown): Promise<void> {
  const response = await fetch(`${local.url}/sources/alertmanager/`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  await response.text();
  assert.equal(response.status, 202);
}

before(async () => {
  slack = await startSlackApiStandIn({ channels: [{ id: CHANNEL, name: "incidents" }] });
  dir = await mkdtemp(path.join(tmpdir(), "patchbay-slack-app-"));
  const tokenFile = path.join(dir, "slack-bot-token");
  await writeFile(tokenFile, `${DEFAULT_BOT_TOKEN}\n`, { mode: 0o600 });
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
  local = await startPatchbayLocal(dir);
});

after(async () => {
  await local?.stop();
  await slack?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("patchbay local with a Slack app notifier", () => {
  it("threads an alert, its repeat and its resolution, and resolves the root", async () => {
    // The source may still be starting: post until it takes the payload (202).
    await postAlertUntilAccepted(
      `${local.url}/sources/alertmanager/`,
      payload("firing", "2026-12-01T04:00:00Z"),
    );
    const root = await waitFor(() => slack.messages(CHANNEL)[0], {
      what: "the root message",
      timeoutMs: 20_000,
    });
    // A later firing of the same alert (another startsAt is another event), then its resolution.
    await postAlert(payload("firing", "2026-12-01T04:05:00Z"));
    await waitFor(() => root.replies.length === 1, { what: "the repeat in the thread", timeoutMs: 20_000 });
    await postAlert(payload("resolved", "2026-12-01T04:05:00Z", "2026-12-01T04:20:00Z"));
    await waitFor(() => root.replies.length === 2 && root.edits === 1, {
      what: "the resolution in the thread and the root updated",
      timeoutMs: 20_000,
    });

    assert.equal(slack.messages(CHANNEL).length, 1, `one thread: ${local.stderr()}`);
    assert.ok(root.replies.every((reply) => reply.thread_ts === root.ts));
    assert.match(root.text!, /^Resolved: Pod shop\/api is crash looping/);
    const calls = slack.calls.filter((call) => call.status === 200);
    assert.deepEqual(
      calls.map((call) => call.method),
      ["chat.postMessage", "chat.postMessage", "chat.update", "chat.postMessage"],
    );
    assert.ok(calls.every((call) => call.headers.authorization === `Bearer ${DEFAULT_BOT_TOKEN}`));
    assert.match(
      JSON.stringify(root.attachments),
      /"action_id":"patchbay\.run","value":"kubectl describe pod api-7c9d8f6b5-x2k4q -n shop"/,
    );
    assert.ok(!local.stderr().includes(DEFAULT_BOT_TOKEN), "the token is never logged");
  });
});
