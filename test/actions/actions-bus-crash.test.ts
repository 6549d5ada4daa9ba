/**
 * Actions with the JetStream event bus, killed mid-run: `patchbay local --event-bus` (the real CLI, a
 * real nats-server) takes 20 alerts (202 each: stored), their attach-mode Action's commands are running
 * (the echo executor sleeps 1.5 s) when the process gets SIGKILL. Started again on the same bus, every
 * alert reaches the receiver exactly once, with its command's answer attached, and no original
 * without it: the actions stage acknowledges an event only once its answered copy is stored.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { alertmanagerPayload, postAlertUntilAccepted } from "../support/alertmanager.ts";
import { prometheusSourceManifest } from "../support/local-manifests.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../operator/harness.ts";
import { NatsServer } from "../support/nats-server.ts";
import { startPatchbayLocal, type PatchbayLocal } from "../support/patchbay-local.ts";
import { waitFor } from "../support/wait.ts";

const ALERTS = 20;

interface Received {
  subject?: string;
  [extension: string]: unknown;
  data: { labels: Record<string, string>; actions?: { status: string; output: string; error: string }[] };
}

let nats: NatsServer;
let receiver: WebhookReceiver;
const received = () => receiver.events as unknown as Received[];
let dir: string;
let local: PatchbayLocal | undefined;

function alert(n: number) {
  return alertmanagerPayload({
    alertname: `Crash${n}`,
    labels: { namespace: "shop", pod: `web-${n}` },
    startsAt: "2026-12-01T05:00:00Z",
    fingerprint: `fp${n}`,
  });
}

/** Both plugins up: the source takes a payload (checked by the caller) and the executor answers. */
async function started(): Promise<PatchbayLocal> {
  const process = await startPatchbayLocal(dir, ["--event-bus", nats.url]);
  await waitFor(async () => (await process.command("echo ready")).body.status === "ok", {
    what: "the echo executor",
    timeoutMs: 20_000,
  });
  return process;
}

before(async () => {
  nats = await NatsServer.start();
  receiver = await startWebhookReceiver();
  dir = await mkdtemp(path.join(tmpdir(), "patchbay-actions-bus-"));
  const node = JSON.stringify(process.execPath);
  await writeFile(
    path.join(dir, "plane.yaml"),
    `${prometheusSourceManifest()}---
apiVersion: patchbay.dev/v1alpha1
kind: ExecutorPlugin
metadata: {name: echo}
spec:
  prefixes: [echo]
  runtime: {process: {command: [${node}, ${JSON.stringify(path.resolve("plugins/echo/main.ts"))}]}}
---
apiVersion: patchbay.dev/v1alpha1
kind: Notifier
metadata: {name: hook}
spec:
  type: webhook
  webhook: {url: {value: ${JSON.stringify(receiver.url)}}}
  delivery: {ratePerSecond: 0}
---
apiVersion: patchbay.dev/v1alpha1
kind: Action
metadata: {name: slow-diagnosis}
spec:
  sources: {names: [alertmanager]}
  command: "echo --sleep 1500 {{data.labels.pod}}"
  executors: [echo]
  result: {mode: attach, deadlineSeconds: 20}
  limits: {maxConcurrent: ${ALERTS}}
`,
  );
});

after(async () => {
  await local?.stop();
  await receiver?.close();
  await nats?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("Actions on the event bus, and a SIGKILL mid-run", () => {
  it("every accepted alert is delivered once, with its answer, after a restart", async () => {
    local = await started();
    for (let n = 0; n < ALERTS; n++)
      await postAlertUntilAccepted(`${local.url}/sources/alertmanager/`, alert(n));
    // The commands are under way (each sleeps 1.5 s): nothing can have been answered yet.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await local.kill();
    const before = receiver.events.length;
    assert.ok(before < ALERTS, `all ${before} delivered before the kill: the test did not kill mid-run`);

    local = await started();
    const subjects = await waitFor(
      () => {
        const alerts = received().filter((event) => event.subject?.startsWith("Crash"));
        return alerts.length >= ALERTS && alerts;
      },
      { what: `${ALERTS} alerts at the receiver`, timeoutMs: 45_000 },
    );
    // A moment for a second copy, were one on its way.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const delivered = received().filter((event) => event.subject?.startsWith("Crash"));
    assert.equal(delivered.length, ALERTS, `delivered: ${delivered.map((e) => e.subject).join(", ")}`);
    assert.equal(new Set(subjects.map((event) => event.subject)).size, ALERTS, "each alert once");
    for (const event of delivered) {
      const answer = event.data.actions?.[0];
      assert.ok(answer, `${event.subject} arrived without its answer`);
      assert.equal(answer.status, "ok", answer.error);
      assert.equal(answer.output.trim(), event.data.labels.pod);
      assert.equal(event.patchbayanswered, undefined, "the routing marks are not delivered");
    }
  });
});
