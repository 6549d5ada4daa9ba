import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, it } from "node:test";
import { stringify } from "yaml";
import type { KubeApiDouble } from "../support/kube-api/index.ts";
import { waitFor } from "../support/wait.ts";
import { plugin, ref, startCluster, waitForCondition } from "./harness.ts";

let api: KubeApiDouble;

before(async () => {
  api = await startCluster();
});

after(async () => {
  await api?.close();
});

it("`patchbay operator` runs from KUBECONFIG, becomes ready, reconciles, and on SIGTERM releases the Lease and exits 0", async () => {
  // client-node refuses plain HTTP unless the cluster entry says insecure-skip-tls-verify.
  const dir = await mkdtemp(join(tmpdir(), "patchbay-operator-cli-"));
  const kubeconfig = join(dir, "kubeconfig");
  await writeFile(
    kubeconfig,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "double", cluster: { server: api.url, "insecure-skip-tls-verify": true } }],
      users: [{ name: "test", user: {} }],
      contexts: [{ name: "double", context: { cluster: "double", user: "test" } }],
      "current-context": "double",
    }),
  );
  after(() => rm(dir, { recursive: true, force: true }));
  const { NODE_TEST_CONTEXT: _testContext, ...env } = process.env;
  const child = spawn(process.execPath, ["src/cli/main.ts", "operator"], {
    env: {
      ...env,
      KUBECONFIG: kubeconfig,
      POD_NAMESPACE: "patchbay-system",
      POD_NAME: "cli-replica",
      PATCHBAY_HOST: "127.0.0.1",
      PATCHBAY_INGRESS_PORT: "0",
      PATCHBAY_MANAGEMENT_PORT: "0",
      PATCHBAY_INGRESS_TOKENS: "secret-token",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, "exit");
  try {
    let management: string | undefined;
    // Logs are JSON lines on stderr.
    createInterface({ input: child.stderr }).on("line", (line) => {
      let entry: { message?: string; management?: string } = {};
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        return;
      }
      if (entry.message === "patchbay operator is running") management = entry.management;
    });
    const url = await waitFor(() => management, { what: "the running line" });
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, { what: "/readyz 200" });

    api.create(plugin("Notifier", "log", { type: "log" }));
    await waitForCondition(api, ref("Notifier", "log"), "Ready", { status: "True" });
    const lease = () =>
      api.get({
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        name: "patchbay-leader",
        namespace: "patchbay-system",
      })?.spec as { holderIdentity?: string } | undefined;
    assert.equal(lease()?.holderIdentity, "cli-replica");

    child.kill("SIGTERM");
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0, stderr);
    assert.ok(!lease()?.holderIdentity, `the Lease is released: ${JSON.stringify(lease())}`);
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
});
