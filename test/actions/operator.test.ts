/**
 * Actions in a cluster (the Kubernetes API double): the operator reports TemplateValid and Ready with
 * observedGeneration, names what is wrong with a template when the resource is applied, and the real
 * kubectl lists Actions under `kubectl get patchbay` with their state (the command with -o wide).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { validateActionSpec } from "../../src/api/v1alpha1/index.ts";
import type { RunningOperator } from "../../src/operator/index.ts";
import type { KubeApiDouble } from "../support/kube-api/index.ts";
import { waitFor } from "../support/wait.ts";
import { startPluginProcess, type StartedPlugin } from "../support/plugin-process.ts";
import {
  markDeploymentAvailable,
  plugin,
  ref,
  runOperator,
  startCluster,
  startWebhookReceiver,
  waitForCondition,
  type WebhookReceiver,
} from "../operator/harness.ts";

const execFileAsync = promisify(execFile);

function action(name: string, command: string) {
  return {
    apiVersion: "patchbay.dev/v1alpha1",
    kind: "Action",
    metadata: { name, namespace: "team-a" },
    spec: {
      sources: { names: ["alertmanager"] },
      filter: { types: ["dev.patchbay.prometheus.alert.firing"] },
      command,
      executors: ["kubectl"],
      result: { mode: "followUp", notifiers: ["team-slack"] },
    },
  };
}

const IMAGE = "ghcr.io/patchbay/patchbay:0.1.0";
let api: KubeApiDouble;
let operator: RunningOperator;
let inbox: StartedPlugin;
let echo: StartedPlugin;
let receiver: WebhookReceiver;

before(async () => {
  [api, inbox, echo, receiver] = await Promise.all([
    startCluster(),
    startPluginProcess("plugins/cloudevents/main.ts"),
    startPluginProcess("plugins/echo/main.ts"),
    startWebhookReceiver(),
  ]);
  // The double runs no Pods: the pod-mode plugins are these processes.
  const endpoints = new Map([
    ["inbox", inbox.address],
    ["echo", echo.address],
  ]);
  operator = await runOperator(api, "actions-test", endpoints);
  await waitFor(() => operator.isLeader, { what: "leadership" });
});

after(async () => {
  await operator?.stop(1_000);
  await Promise.all([inbox?.stop(), echo?.stop(), receiver?.close()]);
  await api?.close();
});

describe("the Action reconciler", () => {
  it("says when an executor it names does not exist, and turns Ready once it is created", async () => {
    api.create(
      action("describe-pod", "kubectl describe pod {{data.labels.pod}} -n {{data.labels.namespace}}"),
    );
    const waiting = await waitForCondition(api, ref("Action", "describe-pod"), "ExecutorsFound", {
      status: "False",
    });
    const found = (waiting.status as { conditions: { type: string; reason: string; message: string }[] })
      .conditions;
    assert.equal(found.find((c) => c.type === "ExecutorsFound")!.reason, "ExecutorNotFound");
    assert.match(
      found.find((c) => c.type === "ExecutorsFound")!.message,
      /no ExecutorPlugin named "kubectl"/,
    );
    assert.equal(found.find((c) => c.type === "Ready")!.reason, "ExecutorNotFound");

    // Creating the executor reconciles the Actions that name it.
    api.create(
      plugin("ExecutorPlugin", "kubectl", {
        prefixes: ["kubectl"],
        runtime: { external: { address: echo.address } },
      }),
    );
    const cr = await waitForCondition(api, ref("Action", "describe-pod"), "Ready", { status: "True" });
    const status = cr.status as {
      observedGeneration: number;
      conditions: { type: string; status: string }[];
    };
    assert.equal(status.observedGeneration, cr.metadata.generation);
    assert.deepEqual(status.conditions.map(({ type, status }) => `${type}=${status}`).sort(), [
      "ConfigValid=True",
      "ExecutorsFound=True",
      "Ready=True",
      "TemplateValid=True",
    ]);
  });

  it("says what is wrong with a template the API server let through, and follows the fix", async () => {
    api.create(action("bad-template", "kubectl logs {{data.labels.pod} -n {{labels.namespace}}"));
    const cr = await waitForCondition(api, ref("Action", "bad-template"), "TemplateValid", {
      status: "False",
    });
    const conditions = (cr.status as { conditions: { type: string; status: string; message: string }[] })
      .conditions;
    const template = conditions.find((c) => c.type === "TemplateValid")!;
    assert.match(template.message, /unbalanced \{\{ or \}\}/);
    assert.match(template.message, /placeholder \{\{labels\.namespace\}\}/);
    assert.equal(conditions.find((c) => c.type === "Ready")!.status, "False");

    const fixed = api.get(ref("Action", "bad-template"))!;
    (fixed.spec as { command: string }).command =
      "kubectl logs {{data.labels.pod}} -n {{data.labels.namespace}}";
    const updated = api.update(fixed);
    const ready = await waitForCondition(api, ref("Action", "bad-template"), "Ready", { status: "True" });
    assert.equal(
      (ready.status as { observedGeneration: number }).observedGeneration,
      updated.metadata.generation,
    );
  });

  it("carries a CEL rule refusing a placeholder as the first word (evaluated here by the local validator: the double runs no CEL)", () => {
    const spec = action("first-word", "{{data.cmd}} get pods").spec;
    assert.deepEqual(validateActionSpec(spec), [
      "spec.command: the first word must be literal, not a placeholder: it chooses the executor",
    ]);
  });

  it("is listed by `kubectl get patchbay` with its result mode, state and command", async () => {
    const kubeconfig = await api.writeKubeconfig();
    const { stdout } = await waitFor(
      async () => {
        const out = await execFileAsync("kubectl", [
          "--kubeconfig",
          kubeconfig,
          "get",
          "patchbay",
          "-n",
          "team-a",
        ]);
        return /action\.patchbay\.dev\/describe-pod/.test(out.stdout) && out;
      },
      { what: "kubectl get patchbay listing the Action" },
    );
    const line = stdout.split("\n").find((l) => l.startsWith("action.patchbay.dev/describe-pod"))!;
    assert.match(line, /^action\.patchbay\.dev\/describe-pod\s+followUp\s+True\s+Ready\s+\S+$/);
    // The command template is long: -o wide shows it.
    const wide = await execFileAsync("kubectl", [
      "--kubeconfig",
      kubeconfig,
      "get",
      "actions",
      "-n",
      "team-a",
      "-o",
      "wide",
    ]);
    assert.match(wide.stdout, /^NAME\s+RESULT\s+READY\s+REASON\s+COMMAND\s+AGE$/m);
    assert.match(
      wide.stdout,
      /^describe-pod\s+followUp\s+True\s+Ready\s+kubectl describe pod \{\{data\.labels\.pod\}\} -n/m,
    );
  });

  it("runs in the cluster: an event posted to the operator's ingress arrives with the executor's answer attached", async () => {
    api.create(
      plugin("SourcePlugin", "inbox", {
        runtime: { pod: { image: IMAGE, command: ["node"], args: ["plugins/cloudevents/main.js"] } },
        config: { allowedTypes: ["com.example.*"] },
      }),
    );
    api.create(
      plugin("ExecutorPlugin", "echo", {
        prefixes: ["echo"],
        runtime: { pod: { image: IMAGE, command: ["node"], args: ["plugins/echo/main.js"] } },
      }),
    );
    api.create(plugin("Notifier", "hook", { type: "webhook", webhook: { url: { value: receiver.url } } }));
    api.create({
      apiVersion: "patchbay.dev/v1alpha1",
      kind: "Action",
      metadata: { name: "say", namespace: "team-a" },
      spec: {
        sources: { names: ["inbox"] },
        command: "echo --sleep 0 {{data.text}}",
        executors: ["echo"],
        result: { mode: "attach", deadlineSeconds: 10 },
      },
    });
    for (const [kind, name] of [
      ["SourcePlugin", "inbox"],
      ["ExecutorPlugin", "echo"],
    ] as const) {
      await waitFor(
        () =>
          api.get(ref("Deployment", `patchbay-${kind === "SourcePlugin" ? "source" : "executor"}-${name}`)),
        {
          what: `the ${name} Deployment`,
        },
      );
      markDeploymentAvailable(api, `patchbay-${kind === "SourcePlugin" ? "source" : "executor"}-${name}`);
      await waitForCondition(api, ref(kind, name), "Ready", { status: "True" });
    }
    await waitForCondition(api, ref("Notifier", "hook"), "Ready", { status: "True" });
    await waitForCondition(api, ref("Action", "say"), "Ready", { status: "True" });

    const text = "hello; $(id) --kubeconfig=/etc/x";
    const response = await fetch(`${operator.dataPlane.ingressUrl}/events`, {
      method: "POST",
      headers: { "content-type": "application/cloudevents+json" },
      body: JSON.stringify({
        specversion: "1.0",
        id: "greeting-1",
        source: "inbox",
        type: "com.example.greeting",
        data: { text },
      }),
    });
    assert.equal(response.status, 202, await response.text());
    const delivered = await waitFor(() => receiver.events.find((event) => event.id === "greeting-1"), {
      what: "the event at the receiver",
    });
    const data = delivered.data as {
      text: string;
      actions: { action: string; status: string; output: string }[];
    };
    assert.deepEqual(
      data.actions.map(({ action, status, output }) => ({ action, status, output })),
      [{ action: "say", status: "ok", output: text }],
    );
  });
});
