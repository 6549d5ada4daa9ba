/**
 * `patchbay operator` stops at start, with a message saying what to do and exit 1, when it cannot
 * read its kubeconfig, cannot reach the cluster within the stated wait, or the cluster lacks the CRDs.
 * The real binary against the API double.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { WATCHED_PLURALS } from "../../src/operator/preflight.ts";
import { startKubeApiDouble, type KubeApiDouble } from "../support/kube-api/index.ts";

const CLI = path.resolve("src/cli/main.ts");
const runCli = promisify(execFile);

async function operator(env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string; seconds: number }> {
  const started = performance.now();
  try {
    await runCli(process.execPath, [CLI, "operator"], {
      // Ports 0: were the checks to let it through, it would not collide with anything.
      env: { ...process.env, PATCHBAY_INGRESS_PORT: "0", PATCHBAY_MANAGEMENT_PORT: "0", ...env },
      timeout: 30_000,
    });
    return { code: 0, stderr: "", seconds: (performance.now() - started) / 1000 };
  } catch (err) {
    const failed = err as { code: number; stderr: string };
    return { code: failed.code, stderr: failed.stderr, seconds: (performance.now() - started) / 1000 };
  }
}

describe("patchbay operator: wrong input stops it at start", () => {
  let dir: string;
  let api: KubeApiDouble;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "patchbay-operator-start-"));
    api = await startKubeApiDouble();
  });
  after(async () => {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("exits 1 for a kubeconfig that does not exist or is not YAML", async () => {
    const missing = await operator({ KUBECONFIG: path.join(dir, "nope") });
    assert.equal(missing.code, 1);
    assert.equal(
      missing.stderr,
      `patchbay: cannot read the kubeconfig (KUBECONFIG=${dir}/nope): ENOENT: no such file or directory, open '${dir}/nope'\n`,
    );
    const garbage = path.join(dir, "garbage");
    await writeFile(garbage, "clusters: [\n");
    const unreadable = await operator({ KUBECONFIG: garbage });
    assert.equal(unreadable.code, 1);
    assert.match(
      unreadable.stderr,
      new RegExp(`^patchbay: cannot read the kubeconfig \\(KUBECONFIG=${garbage}\\): .+\\n$`),
    );
  });

  it("exits 1 for a malformed PATCHBAY_CLUSTER_NAME, before contacting any cluster", async () => {
    const answer = await operator({ PATCHBAY_CLUSTER_NAME: "@channel", KUBECONFIG: path.join(dir, "nope") });
    assert.equal(answer.code, 1);
    assert.equal(
      answer.stderr,
      'patchbay: PATCHBAY_CLUSTER_NAME must be 1 to 63 letters, digits, ".", "_" or "-", starting and ending with a letter or digit (got "@channel")\n',
    );
  });

  it("exits 1 after the stated wait when the cluster cannot be reached", async () => {
    const server = createServer().listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as AddressInfo;
    server.close();
    const kubeconfig = path.join(dir, "unreachable");
    await writeFile(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`,
    );
    const answer = await operator({ KUBECONFIG: kubeconfig, PATCHBAY_STARTUP_TIMEOUT_SECONDS: "1.5" });
    assert.equal(answer.code, 1);
    assert.equal(
      answer.stderr,
      `patchbay: cannot reach the Kubernetes API server at http://127.0.0.1:${port} within 1.5 s (ECONNREFUSED); check KUBECONFIG or the current context (kubectl cluster-info), or wait longer with PATCHBAY_STARTUP_TIMEOUT_SECONDS\n`,
    );
    assert.ok(answer.seconds >= 1.5 && answer.seconds < 15, `stopped after ${answer.seconds} s`);
  });

  it("exits 1 for a bad PATCHBAY_STARTUP_TIMEOUT_SECONDS", async () => {
    const answer = await operator({
      KUBECONFIG: await api.writeKubeconfig(dir),
      PATCHBAY_STARTUP_TIMEOUT_SECONDS: "soon",
    });
    assert.equal(answer.code, 1);
    assert.equal(
      answer.stderr,
      `patchbay: PATCHBAY_STARTUP_TIMEOUT_SECONDS must be a positive number of seconds, not "soon"\n`,
    );
  });

  it("exits 1 naming the CRDs a cluster lacks, and how to install them", async () => {
    const kubeconfig = await api.writeKubeconfig(dir);
    const none = await operator({ KUBECONFIG: kubeconfig });
    assert.equal(none.code, 1);
    const names = WATCHED_PLURALS.map((plural) => `${plural}.patchbay.dev`);
    assert.match(none.stderr, /^patchbay: the cluster at http:\/\/127\.0\.0\.1:\d+ lacks Patchbay's CRDs: /);
    assert.ok(none.stderr.includes(`lacks Patchbay's CRDs: ${names.join(", ")};`), none.stderr);
    assert.match(
      none.stderr,
      /install them with 'kubectl apply -k crds' \(the CRDs only\) or 'kubectl apply -k \.' \(the whole install\)/,
    );

    // One installed, the others still missing: only those are named.
    await api.registerCrd(path.resolve("crds/patchbay.dev_sourceplugins.yaml"));
    const some = await operator({ KUBECONFIG: kubeconfig });
    assert.equal(some.code, 1);
    assert.doesNotMatch(some.stderr, /sourceplugins\.patchbay\.dev/);
    assert.match(some.stderr, /executorplugins\.patchbay\.dev/);
  });
});
