/**
 * Who may run what, end to end as a user sets it up: `patchbay local` reads a Notifier whose
 * spec.commands.access maps chat users to the kubectl executor and to Kubernetes identities; Mattermost
 * slash commands go through the real ingress, dispatcher and plugin hub to the real kubectl executor
 * process and the real kubectl, whose requests the Kubernetes API test double records.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { startPatchbayLocal, type PatchbayLocal } from "../support/patchbay-local.ts";
import { startKubeApiDouble, type KubeApiDouble } from "../support/kube-api/index.ts";
import { waitFor } from "../support/wait.ts";

const MM_TOKEN = "xr3j5x3p4pfjpe";

describe("per-user access from a Notifier, through patchbay local to the real kubectl", () => {
  let api: KubeApiDouble;
  let local: PatchbayLocal;
  let dir: string;

  before(async () => {
    api = await startKubeApiDouble({ namespaces: ["default", "shop"] });
    api.create({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "web-1", namespace: "shop" },
      spec: { containers: [{ name: "main", image: "nginx:1.27" }] },
    });
    dir = await mkdtemp(path.join(tmpdir(), "patchbay-access-"));
    const kubeconfig = await api.writeKubeconfig(dir);
    await writeFile(
      path.join(dir, "kubectl.yaml"),
      `apiVersion: patchbay.dev/v1alpha1
kind: ExecutorPlugin
metadata: {name: kubectl}
spec:
  prefixes: [kubectl]
  runtime:
    process:
      command: [node, plugins/kubectl/main.ts]
      env: {KUBECONFIG: ${JSON.stringify(kubeconfig)}, HOME: ${JSON.stringify(dir)}}
`,
    );
    await writeFile(
      path.join(dir, "ops.yaml"),
      `apiVersion: patchbay.dev/v1alpha1
kind: Notifier
metadata: {name: ops}
spec:
  type: log
  commands:
    executors: [kubectl]
    mattermost: {token: {value: ${MM_TOKEN}}}
    groups:
      readers: [bob]
    access:
      - users: [alice]
        executors: [kubectl]
        kubernetes: {user: alice@example.com, groups: [sre, viewers]}
      - groups: [readers]
        executors: [kubectl]
`,
    );
    local = await startPatchbayLocal(dir);
    // Until the kubectl executor process is up, commands are answered "unavailable".
    await waitFor(async () => /Client Version/.test(await command("alice", "kubectl version --client")), {
      what: "the kubectl executor ready",
      timeoutMs: 20_000,
    });
  });
  after(async () => {
    await local?.stop();
    await api?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A Mattermost slash command without response_url: the answer is the HTTP response. */
  async function command(userName: string, text: string): Promise<string> {
    const response = await fetch(`${local.url}/chat/mattermost/ops`, {
      method: "POST",
      headers: { authorization: `Token ${MM_TOKEN}`, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ text, user_name: userName, user_id: `id-${userName}` }).toString(),
    });
    assert.equal(response.status, 200);
    return ((await response.json()) as { text: string }).text;
  }
  const headersOfPodLists = (name: string) =>
    api.requests
      .filter((request) => request.path === "/api/v1/namespaces/shop/pods")
      .map((request) => request.headers[name]);

  it("runs alice's command as her mapped Kubernetes identity", async () => {
    api.clearRequests();
    assert.match(await command("alice", "kubectl get pods -n shop -o name"), /pod\/web-1/);
    assert.deepEqual(headersOfPodLists("impersonate-user"), [["alice@example.com"]]);
    assert.deepEqual(headersOfPodLists("impersonate-group"), [["sre", "viewers"]]);
  });

  it("runs bob's (a group rule without a Kubernetes identity) as the executor's own identity", async () => {
    api.clearRequests();
    assert.match(await command("bob", "kubectl get pods -n shop -o name"), /pod\/web-1/);
    assert.deepEqual(headersOfPodLists("impersonate-user"), [undefined]);
  });

  it("refuses the same command from eve, whom no rule names, before anything runs", async () => {
    api.clearRequests();
    assert.match(
      await command("eve", "kubectl get pods -n shop -o name"),
      /not allowed: you \\\(eve\\\) are not allowed to use the executor "kubectl" here: no access rule of this channel names you\. To run this command you need access to "kubectl"/,
    );
    assert.deepEqual(api.requests, []);
  });

  it("refuses --as typed by alice: the chat text never sets the identity", async () => {
    api.clearRequests();
    assert.match(
      await command("alice", "kubectl get pods -n shop --as=admin"),
      /flag --as is not allowed: changes the identity or the cluster kubectl talks to/,
    );
    assert.deepEqual(api.requests, []);
  });
});
