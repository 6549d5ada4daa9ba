/**
 * The README's cluster walkthrough, command for command, with the real kubectl against the API double
 * and a real operator: `kubectl apply -k .`, `kubectl apply -f config/samples/`, `kubectl get patchbay`,
 * `kubectl wait --for=condition=Ready`, a broken config read back with jsonpath, and a delete that takes
 * the plugin's workload with it. The double runs no Pods: each sample's plugin runs as a real process
 * the operator is pointed at, and its Deployment is marked available as the Deployment controller would.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { RunningOperator } from "../../src/operator/index.ts";
import { kubectl as runKubectl, readObjects, sampleFiles } from "../manifests/kubectl.ts";
import { startKubeApiDouble, type KubeApiDouble } from "../support/kube-api/index.ts";
import { startPluginProcess, type StartedPlugin } from "../support/plugin-process.ts";
import { waitFor } from "../support/wait.ts";
import { markDeploymentAvailable, ref, runOperator } from "./harness.ts";

const NAMESPACE = "default";

describe("the README walkthrough, with the real kubectl", () => {
  let api: KubeApiDouble;
  let kubeconfig: string;
  let operator: RunningOperator | undefined;
  const plugins: StartedPlugin[] = [];
  const endpoints = new Map<string, string>();
  const kubectl = async (...args: string[]) => (await runKubectl(args, { KUBECONFIG: kubeconfig })).stdout;
  const samplePlugins = sampleFiles()
    .flatMap((file) => readObjects(file))
    .filter((object) => object.kind === "SourcePlugin" || object.kind === "ExecutorPlugin");

  before(async () => {
    api = await startKubeApiDouble({ namespaces: [NAMESPACE] });
    kubeconfig = await api.writeKubeconfig();
    // Every sample's plugin, from the entrypoint its Pod would run; the kubernetes source reads the double.
    await Promise.all(
      samplePlugins.map(async (object) => {
        // The image runs the compiled entrypoint (plugins/<name>/main.js); here, the source it is built from.
        const entrypoint = (object.spec.runtime.pod.args as string[]).find((arg) => /\.m?[jt]s$/.test(arg))!;
        const source = entrypoint.replace(/\.js$/, ".ts");
        const started = await startPluginProcess(source, { KUBECONFIG: kubeconfig });
        plugins.push(started);
        endpoints.set(object.metadata.name, started.address);
      }),
    );
  });

  after(async () => {
    await operator?.stop(1_000);
    await Promise.all(plugins.map((started) => started.stop()));
    await api?.close();
  });

  it("kubectl apply -k . installs the CRDs, RBAC, the manager Deployment and its Services", async () => {
    const output = await kubectl("apply", "-k", ".");
    for (const line of [
      "namespace/patchbay-system created",
      "customresourcedefinition.apiextensions.k8s.io/sourceplugins.patchbay.dev created",
      "clusterrole.rbac.authorization.k8s.io/patchbay-manager-role created",
      "deployment.apps/patchbay-controller-manager created",
    ]) {
      assert.ok(output.includes(line), `missing "${line}" in:\n${output}`);
    }
    assert.match(await kubectl("get", "crds"), /executorplugins\.patchbay\.dev/);
    operator = await runOperator(api, "walkthrough", endpoints);
    await waitFor(() => operator!.isLeader, { what: "leadership" });
  });

  it("kubectl apply -f config/samples/ brings every sample plugin to Ready", async () => {
    const output = await kubectl("apply", "-f", "config/samples/");
    for (const object of samplePlugins) {
      assert.ok(
        output.includes(`${object.kind.toLowerCase()}.patchbay.dev/${object.metadata.name} created`),
        output,
      );
    }
    // The Deployment controller's part: each plugin Deployment becomes available once it exists.
    for (const object of samplePlugins) {
      const name = `patchbay-${object.kind === "SourcePlugin" ? "source" : "executor"}-${object.metadata.name}`;
      await waitFor(() => api.get(ref("Deployment", name, NAMESPACE)), { what: `Deployment ${name}` });
      markDeploymentAvailable(api, name, NAMESPACE);
    }
    await kubectl(
      "wait",
      "--for=condition=Ready",
      "--timeout=30s",
      ...samplePlugins.map((object) => `${object.kind.toLowerCase()}/${object.metadata.name}`),
    );
  });

  it("kubectl get patchbay lists them all with Ready, Reason, Mode and endpoint or prefixes", async () => {
    const table = await kubectl("get", "patchbay");
    for (const object of samplePlugins) {
      const row = table.split("\n").find((line) => line.includes(`/${object.metadata.name} `));
      assert.ok(row, `no row for ${object.metadata.name} in:\n${table}`);
      if (!/\bTrue\s+Ready\s+pod\b/.test(row)) {
        const ref = `${object.kind.toLowerCase()}/${object.metadata.name}`;
        assert.fail(`${row}\n${await kubectl("get", ref, "-o", "jsonpath={.status.conditions}")}`);
      }
    }
    assert.match(table, /executorplugin\.patchbay\.dev\/echo\s+True\s+Ready\s+pod\s+\["echo"\]/);
    assert.match(table, /notifier\.patchbay\.dev\/log\s+log\s+True\s+Ready\b/);
    assert.match(table, /action\.patchbay\.dev\/describe-crashloop\s+attach\s+True\s+Ready\b/);
    // The default table fits an 80-column terminal; the long Endpoint column is for -o wide.
    for (const line of table.trimEnd().split("\n"))
      assert.ok(line.length <= 80, `wider than 80 columns: ${line}`);
    assert.doesNotMatch(table, /ENDPOINT/);
    const wide = await kubectl("get", "sourceplugins", "-o", "wide");
    assert.match(wide, /^NAME\s+READY\s+REASON\s+MODE\s+ENDPOINT\s+AGE$/m);
    assert.match(wide, /\bheartbeat\s+True\s+Ready\s+pod\s+\S+:\d+\s/);
    assert.match(await kubectl("wait", "--for=condition=Ready", "sourceplugin/heartbeat"), /condition met/);
  });

  it("a broken config shows ConfigValid=False with the schema's words, read back as the README does", async () => {
    const setBeatInterval = (seconds: number) =>
      kubectl(
        "patch",
        "sourceplugin",
        "heartbeat",
        "--type",
        "merge",
        "-p",
        JSON.stringify({ spec: { config: { intervalSeconds: seconds } } }),
      );
    await setBeatInterval(0);
    const jsonpath = '{.status.conditions[?(@.type=="ConfigValid")].message}';
    const message = await waitFor(
      async () => {
        const text = await kubectl("get", "sourceplugin", "heartbeat", "-o", `jsonpath=${jsonpath}`);
        return text.includes("must be") ? text : undefined;
      },
      { what: "ConfigValid to report the schema error" },
    );
    assert.equal(message, "config.intervalSeconds must be >= 0.01");
    assert.match(await kubectl("get", "sourceplugin", "heartbeat"), /heartbeat\s+False\s+ConfigInvalid\b/);
    await setBeatInterval(30);
    await kubectl("wait", "--for=condition=Ready", "--timeout=20s", "sourceplugin/heartbeat");
  });

  it("kubectl delete removes the plugin's Deployment, Service and NetworkPolicy with it", async () => {
    const name = "patchbay-executor-echo";
    assert.ok(api.get(ref("Service", name, NAMESPACE)));
    assert.match(await kubectl("get", "networkpolicies"), /patchbay-executor-echo/);
    await kubectl("delete", "executorplugin", "echo", "--timeout=20s");
    await waitFor(
      () => !api.get(ref("Deployment", name, NAMESPACE)) && !api.get(ref("Service", name, NAMESPACE)),
      { what: "the echo workload to be garbage-collected" },
    );
    assert.doesNotMatch(await kubectl("get", "patchbay"), /executorplugin\.patchbay\.dev\/echo\s/);
    assert.doesNotMatch(await kubectl("get", "networkpolicies"), /patchbay-executor-echo/);
  });
});
