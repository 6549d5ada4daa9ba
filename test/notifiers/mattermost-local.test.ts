/**
 * The Mattermost bot over real processes: `patchbay local` (the real CLI, --cluster-name) with the
 * prometheus source, the kubectl executor running the real kubectl against the Kubernetes API double,
 * and a bot Notifier posting to the Mattermost API stand-in. An alert, its re-firing and its resolution
 * share one thread whose root ends up marked resolved; a click on the root's Describe button, sent by
 * the stand-in as Mattermost sends it, runs `kubectl describe` and the answer arrives in the thread.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { kubectlExecutorManifest, prometheusSourceManifest } from "../support/local-manifests.ts";
import { startKubeApiDouble, type KubeApiDouble } from "../support/kube-api/index.ts";
import {
  newId,
  startMattermostApi,
  type MattermostStandIn,
  type Post,
} from "../support/mattermost-api/index.ts";
import { freePort } from "../support/nats-server.ts";
import { startPatchbayLocal, type PatchbayLocal } from "../support/patchbay-local.ts";
import { waitFor } from "../support/wait.ts";

const TOKEN = "k9x8c7v6b5n4m3l2j1h0g9f8d7";
const CHANNEL = newId();
const POD = "web-5d9c7b8f6-q2w3e";
const FINGERPRINT = "7a1c2e3f4b5d6e7f";

let api: KubeApiDouble;
let mattermost: MattermostStandIn;
let local: PatchbayLocal;
let dir: string;

function notification(status: "firing" | "resolved", startsAt: string) {
  return {
    version: "4",
    status,
    receiver: "patchbay",
    groupKey: '{}:{alertname="KubePodCrashLooping"}',
    groupLabels: { alertname: "KubePodCrashLooping" },
    commonLabels: {},
    commonAnnotations: {},
    externalURL: "http://alertmanager:9093",
    truncatedAlerts: 0,
    alerts: [
      {
        status,
        labels: { alertname: "KubePodCrashLooping", namespace: "shop", pod: POD, severity: "critical" },
        annotations: { summary: `${POD} is crash looping` },
        startsAt,
        endsAt: status === "resolved" ? "2026-12-01T04:30:00Z" : "0001-01-01T00:00:00Z",
        generatorURL: "http://prometheus:9090/graph",
        fingerprint: FINGERPRINT,
      },
    ],
  };
}

/** Posts to the prometheus source, waiting while it is still starting (503). */
async function postAlert(body: unknown): Promise<void> {
  await waitFor(
    async () => {
      const response = await fetch(`${local.url}/sources/alertmanager/`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const text = await response.text();
      if (response.status === 503) return undefined;
      assert.equal(response.status, 202, text);
      return true;
    },
    { what: "the prometheus source to take the alert", timeoutMs: 20_000 },
  );
}

before(async () => {
  [api, mattermost] = await Promise.all([
    startKubeApiDouble({ namespaces: ["default", "shop"] }),
    startMattermostApi({ botToken: TOKEN, channelIds: [CHANNEL] }),
  ]);
  api.create({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: POD, namespace: "shop", labels: { app: "web" } },
    spec: { containers: [{ name: "web", image: "shop/web:2.0" }] },
  });
  const kubeconfig = await api.writeKubeconfig();
  const port = await freePort();
  dir = await mkdtemp(path.join(tmpdir(), "patchbay-mattermost-"));
  await writeFile(
    path.join(dir, "plane.yaml"),
    `${prometheusSourceManifest()}---
${kubectlExecutorManifest(kubeconfig)}---
apiVersion: patchbay.dev/v1alpha1
kind: Notifier
metadata: {name: ops-mm}
spec:
  type: mattermost
  mattermost:
    serverUrl: ${JSON.stringify(mattermost.url)}
    botToken: {env: PATCHBAY_TEST_MATTERMOST_TOKEN}
    channelId: ${CHANNEL}
    actionsUrl: http://127.0.0.1:${port}
  commands: {executors: [kubectl]}
  delivery: {ratePerSecond: 0}
`,
  );
  process.env.PATCHBAY_TEST_MATTERMOST_TOKEN = TOKEN;
  local = await startPatchbayLocal(dir, ["--port", String(port), "--cluster-name", "prod-eu-1"]);
  await waitFor(async () => (await local.command("kubectl version --client")).body.status === "ok", {
    what: "the kubectl executor",
    timeoutMs: 20_000,
  });
});

after(async () => {
  await local?.stop();
  await Promise.all([api?.close(), mattermost?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const thread = (rootId: string): Post[] => mattermost.posts().filter((post) => post.root_id === rootId);

describe("Mattermost bot through patchbay local", () => {
  let root: Post;

  it("threads an alert, its re-firing and its resolution, and names the cluster", async () => {
    await postAlert(notification("firing", "2026-12-01T04:00:00Z"));
    root = await waitFor(() => mattermost.posts()[0], { what: "the root post", timeoutMs: 20_000 });
    assert.equal(root.root_id, "");
    const [attachment] = root.props.attachments as { fields: { title: string; value: string }[] }[];
    assert.deepEqual(attachment!.fields[0], { short: true, title: "Cluster", value: "prod-eu-1" });

    await postAlert(notification("firing", "2026-12-01T04:10:00Z"));
    await waitFor(() => thread(root.id).length === 1 || undefined, { what: "the re-firing in the thread" });
    await postAlert(notification("resolved", "2026-12-01T04:10:00Z"));
    await waitFor(() => thread(root.id).length === 2 || undefined, { what: "the resolution in the thread" });
    assert.match(mattermost.post(root.id)!.message, /Resolved/);
    assert.equal(mattermost.posts().filter((post) => post.root_id === "").length, 1, "one thread");
  });

  it("runs kubectl describe for the alert's Pod when its button is clicked, and answers in the thread", async () => {
    const alice = { id: newId(), name: "alice" };
    const click = await mattermost.click(root.id, alice);
    assert.equal(click.status, 200, JSON.stringify(click.body));
    assert.match((click.body as { ephemeral_text: string }).ephemeral_text, /Running `kubectl describe pod/);
    const answer = await waitFor(() => thread(root.id).find((post) => post.message.includes("describe")), {
      what: "kubectl's answer in the thread",
      timeoutMs: 20_000,
    });
    assert.match(answer.message, new RegExp(`Name:\\s+${POD}`), answer.message);
    assert.ok(
      api.requests.some((r) => r.method === "GET" && r.path === `/api/v1/namespaces/shop/pods/${POD}`),
    );

    const forged = await mattermost.click(root.id, alice, {
      context: {
        command: "kubectl get secrets -A",
        channel_id: CHANNEL,
        root_id: "",
        signature: "f".repeat(64),
      },
    });
    assert.equal(forged.status, 401);
    assert.match(JSON.stringify(forged.body), /signature does not match/);
  });
});
