/**
 * The operator at scale against a REAL cluster (KUBECONFIG), not the API double: N pod-mode SourcePlugins
 * applied at once in a fresh namespace, with one `patchbay operator` process outside the cluster.
 * Prints: the apply time, the time until every one has a status at its current generation with
 * WorkloadAvailable set, the operator's requests to the API server over a window at rest (from the
 * API server's audit log when given, by user agent), and the operator's RSS.
 *
 *   node bench/cluster-scale.ts [--count 200] [--runtime pod|external] [--rest-seconds 20]
 *                               [--audit-log /path/to/audit.log]
 *
 * Not part of `npm run bench` (which needs no cluster). Cleans up its namespace.
 */
import { spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { parseArgs } from "node:util";
import { startOperatorProcess } from "../test/support/operator-process.ts";
import { managerNodeFlags } from "./harness/processes.ts";
import { startPluginProcess } from "../test/support/plugin-process.ts";
import { waitFor } from "../test/support/wait.ts";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "200" },
    "rest-seconds": { type: "string", default: "20" },
    "audit-log": { type: "string" },
    // pod: pod-mode plugins (their Pods need not run). external: half point at one serving plugin
    // process started here, half at a port where nothing listens (the hub keeps retrying those).
    runtime: { type: "string", default: "pod" },
  },
});
const RUNTIME = values.runtime === "external" ? "external" : "pod";
const COUNT = Number(values.count);
const REST_SECONDS = Number(values["rest-seconds"]);
const KUBECONFIG = process.env.KUBECONFIG;
if (!KUBECONFIG) {
  console.error("set KUBECONFIG to the cluster to measure against");
  process.exit(2);
}
const NAMESPACE = `patchbay-scale-${randomBytes(3).toString("hex")}`;
// In the audit log, the operator is the client that is neither kubectl nor a Kubernetes component
// (client-node sends `kubernetes-client-javascript/<version>`, its watches plain fetch's agent).
const NOT_OPERATOR = /^(kubectl|kube-)/;

function kubectl(args: string[], input?: string): string {
  const result = spawnSync("kubectl", args, { input, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`kubectl ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

function plugins(servingAddress: string | undefined): object {
  const runtime = (i: number) =>
    RUNTIME === "external"
      ? { external: { address: i % 2 === 0 ? servingAddress! : "127.0.0.1:1" } }
      : {
          pod: {
            image: "ghcr.io/patchbay/patchbay:0.1.0",
            command: ["node"],
            args: ["plugins/heartbeat/main.js"],
          },
        };
  const items = Array.from({ length: COUNT }, (_, i) => ({
    apiVersion: "patchbay.dev/v1alpha1",
    kind: "SourcePlugin",
    metadata: { name: `beat-${i}` },
    spec: { runtime: runtime(i), config: { intervalSeconds: 30 } },
  }));
  return { apiVersion: "v1", kind: "List", items };
}
interface Listed {
  items: {
    metadata: { generation?: number };
    status?: { observedGeneration?: number; conditions?: { type: string; observedGeneration?: number }[] };
  }[];
}

function reconciledCount(): number {
  const listed = JSON.parse(kubectl(["get", "sourceplugins", "-n", NAMESPACE, "-o", "json"])) as Listed;
  return listed.items.filter((item) => {
    const generation = item.metadata.generation;
    const workload = item.status?.conditions?.find((condition) => condition.type === "WorkloadAvailable");
    return item.status?.observedGeneration === generation && workload?.observedGeneration === generation;
  }).length;
}

/** Resolves once no SourcePlugin, Deployment or ReplicaSet in the namespace changed for `quietMs`. */
async function waitForQuiet(quietMs: number): Promise<void> {
  const versions = () =>
    kubectl([
      "get",
      "sourceplugins,deployments,replicasets",
      "-n",
      NAMESPACE,
      "-o",
      "jsonpath={..resourceVersion}",
    ]);
  let last = versions();
  for (let waited = 0; waited < 600_000; waited += quietMs) {
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    const now = versions();
    if (now === last) return;
    last = now;
  }
  throw new Error("the namespace never became quiet");
}

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
  return Number(line?.[1] ?? 0) / 1024;
}

interface AuditEvent {
  stage: string;
  verb: string;
  userAgent?: string;
  objectRef?: { resource?: string };
}

/** The operator's completed requests in the audit log after `offset`, by "verb resource". */
function auditSince(path: string, offset: number): Map<string, number> {
  // The offset may fall inside a line the server was writing: start at the next whole one.
  const tail = readFileSync(path).subarray(offset);
  const text = tail.subarray(tail.indexOf(10) + 1).toString("utf8");
  const counts = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line) continue;
    const event = JSON.parse(line) as AuditEvent;
    if (NOT_OPERATOR.test(event.userAgent ?? "")) continue;
    if (event.stage !== "ResponseComplete" && event.stage !== "ResponseStarted") continue;
    if (event.stage === "ResponseStarted" && event.verb !== "watch") continue;
    const key = `${event.verb} ${event.objectRef?.resource ?? "?"}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

async function main(): Promise<void> {
  kubectl(["apply", "-k", "."]);
  kubectl(["create", "namespace", NAMESPACE]);
  const children: ChildProcess[] = [];
  const operator = await startOperatorProcess(
    KUBECONFIG!,
    {
      PATCHBAY_WATCH_NAMESPACE: NAMESPACE,
      PATCHBAY_INGRESS_TOKENS: randomBytes(8).toString("hex"),
      // The V8 flags the manager Deployment runs with, so the figures are those of the deployed operator.
      NODE_OPTIONS: managerNodeFlags().join(" "),
    },
    children,
    { readyTimeoutMs: 30_000 },
  );
  const serving = RUNTIME === "external" ? await startPluginProcess("plugins/heartbeat/main.ts") : undefined;
  try {
    const rssIdle = rssMiB(operator.child.pid!);
    const t0 = performance.now();
    kubectl(["apply", "-n", NAMESPACE, "-f", "-"], JSON.stringify(plugins(serving?.address)));
    const applySeconds = (performance.now() - t0) / 1000;
    await waitFor(() => reconciledCount() === COUNT, {
      timeoutMs: 600_000,
      intervalMs: 250,
      what: `${COUNT} SourcePlugins reconciled`,
    });
    const reconcileSeconds = (performance.now() - t0) / 1000;
    console.log(`apply of ${COUNT} SourcePlugins: ${applySeconds.toFixed(1)} s`);
    console.log(
      `all ${COUNT} with a status at their generation and WorkloadAvailable set: ${reconcileSeconds.toFixed(1)} s after the apply started`,
    );

    // At rest means the cluster too: kube-controller-manager keeps creating ReplicaSets and Pods and
    // updating the Deployments' status for a while (at its own client rate limit), and each such change
    // is a status the operator must report. Wait until nothing in the namespace changed for 10 s.
    const settleStarted = performance.now();
    await waitForQuiet(10_000);
    console.log(`the namespace was quiet ${((performance.now() - settleStarted) / 1000).toFixed(1)} s later`);
    const auditLog = values["audit-log"];
    const offset = auditLog ? statSync(auditLog).size : 0;
    const cpu0 = cpuSeconds(operator.child.pid!);
    await new Promise((resolve) => setTimeout(resolve, REST_SECONDS * 1000));
    const cpu = cpuSeconds(operator.child.pid!) - cpu0;
    if (auditLog) {
      const counts = auditSince(auditLog, offset);
      const total = [...counts.values()].reduce((sum, n) => sum + n, 0);
      console.log(`operator requests over ${REST_SECONDS} s at rest: ${total}`);
      for (const [key, n] of [...counts].sort((a, b) => b[1] - a[1])) console.log(`  ${n}\t${key}`);
    }
    const rss = rssMiB(operator.child.pid!);
    const metrics = await (await fetch(`${operator.management}/metrics`)).text();
    const gauge = (name: string) =>
      Number(metrics.match(new RegExp(`^${name} (\\S+)`, "m"))?.[1] ?? NaN) / 2 ** 20;
    console.log(
      `operator heap used ${gauge("nodejs_heap_size_used_bytes").toFixed(0)} MiB of ${gauge("nodejs_heap_size_total_bytes").toFixed(0)} MiB, external ${gauge("nodejs_external_memory_bytes").toFixed(0)} MiB`,
    );
    console.log(`operator CPU over the window at rest: ${cpu.toFixed(2)} s`);
    console.log(
      `operator RSS: ${rssIdle.toFixed(0)} MiB before, ${rss.toFixed(0)} MiB with ${COUNT} plugins (${(((rss - rssIdle) * 1024) / COUNT).toFixed(0)} KiB per plugin)`,
    );
    const problems = new Map<string, number>();
    for (const line of operator.stderr().split("\n")) {
      if (!/"level":"(warn|error)"/.test(line)) continue;
      const entry = JSON.parse(line) as { message: string; error?: string; reason?: string };
      const what = `${entry.message}${entry.error ? `: ${entry.error.slice(0, 160)}` : ""}`;
      problems.set(what, (problems.get(what) ?? 0) + 1);
    }
    for (const [what, n] of [...problems].sort((a, b) => b[1] - a[1]).slice(0, 8))
      console.log(`operator logged ${n}× ${what}`);
  } finally {
    await serving?.stop();
    await operator.stop();
    kubectl(["delete", "namespace", NAMESPACE, "--wait=false"]);
  }
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

await main();
