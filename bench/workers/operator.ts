/** `patchbay operator`'s controllers and data plane against the API double, watching one namespace. */
import { createLogger } from "../../src/observability/logger.ts";
import { startOperator } from "../../src/operator/index.ts";
import { makeKubeConfig } from "../../test/support/kube-api/index.ts";
import { serveRpc, workerParams } from "../harness/rpc.ts";

const { url, namespace } = workerParams<{ url: string; namespace: string }>();
const operator = await startOperator({
  kubeConfig: makeKubeConfig(url),
  watchNamespace: namespace,
  podNamespace: "patchbay-system",
  identity: "bench",
  ingress: { host: "127.0.0.1", port: 0 },
  management: { host: "127.0.0.1", port: 0 },
  log: createLogger("bench-operator", "error"),
});
const deadline = Date.now() + 30_000;
while (!operator.isLeader) {
  if (Date.now() > deadline) throw new Error("the operator did not become leader within 30 s");
  await new Promise((resolve) => setTimeout(resolve, 20));
}

serveRpc(
  {
    cpuMs: () => cpuMs(),
  },
  { pid: process.pid },
);
process.once("SIGTERM", () => void operator.stop(1_000).then(() => process.exit(0)));

function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}
