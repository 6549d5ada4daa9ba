import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ExecutorPlugin, SourcePlugin } from "../../src/api/v1alpha1/index.ts";
import {
  DEFAULT_RESOURCES,
  lostClaims,
  podWorkload,
  removeContainerPatch,
  sidecarContainer,
  upsertContainerPatch,
  workloadName,
} from "../../src/operator/index.ts";
import { MANAGER_POD_LABELS } from "../../src/operator/names.ts";

function source(name: string, spec: Partial<SourcePlugin["spec"]> = {}): SourcePlugin {
  return {
    apiVersion: "patchbay.dev/v1alpha1",
    kind: "SourcePlugin",
    metadata: { name, namespace: "team-a", uid: `uid-${name}`, generation: 1 },
    spec: {
      runtime: {
        pod: {
          image: "ghcr.io/patchbay/patchbay:0.1.0",
          command: ["node"],
          args: ["plugins/heartbeat/main.ts"],
        },
      },
      ...spec,
    },
  };
}

function executor(name: string, prefixes: string[], created: string, namespace = "team-a"): ExecutorPlugin {
  return {
    apiVersion: "patchbay.dev/v1alpha1",
    kind: "ExecutorPlugin",
    metadata: { name, namespace, creationTimestamp: created },
    spec: { prefixes, runtime: { external: { address: "x:1" } } },
  };
}

describe("workload names", () => {
  it("is patchbay-<kind>-<name>, a DNS label of at most 63 characters", () => {
    assert.equal(workloadName("source", "heartbeat"), "patchbay-source-heartbeat");
    const long = "a".repeat(63);
    const name = workloadName("executor", long);
    assert.ok(name.length <= 63, name);
    assert.match(name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    assert.notEqual(name, workloadName("executor", `${"a".repeat(62)}b`), "trimmed names stay distinct");
  });
});

describe("pod workload", () => {
  const workload = podWorkload(source("heartbeat"), source("heartbeat").spec.runtime.pod!, "patchbay-system");
  const pod = workload.deployment.spec!.template.spec!;
  const container = pod.containers[0]!;

  it("labels everything for the plugin and its NetworkPolicy, with a stable selector", () => {
    assert.deepEqual(workload.deployment.metadata!.labels, {
      "app.kubernetes.io/name": "heartbeat",
      "app.kubernetes.io/instance": "heartbeat",
      "app.kubernetes.io/managed-by": "patchbay",
      "app.kubernetes.io/component": "plugin",
      "patchbay.dev/kind": "source",
    });
    const selector = workload.deployment.spec!.selector.matchLabels!;
    for (const [key, value] of Object.entries(selector)) {
      assert.equal(workload.deployment.spec!.template.metadata!.labels![key], value);
    }
    assert.deepEqual(workload.service.spec!.selector, selector);
  });

  it("is owned by the CR, so deleting the CR deletes it", () => {
    for (const object of [workload.deployment, workload.service, workload.serviceAccount!]) {
      assert.deepEqual(object.metadata!.ownerReferences, [
        {
          apiVersion: "patchbay.dev/v1alpha1",
          kind: "SourcePlugin",
          name: "heartbeat",
          uid: "uid-heartbeat",
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      assert.equal(object.metadata!.name, "patchbay-source-heartbeat");
      assert.equal(object.metadata!.namespace, "team-a");
    }
  });

  it("runs the spec's command and args hardened, with a gRPC probe, /tmp and default resources", () => {
    assert.deepEqual(container.command, ["node"]);
    assert.deepEqual(container.args, ["plugins/heartbeat/main.ts"]);
    assert.deepEqual(container.env, [{ name: "PATCHBAY_PLUGIN_ADDRESS", value: "0.0.0.0:50051" }]);
    assert.deepEqual(container.securityContext, {
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    assert.equal(pod.securityContext!.runAsNonRoot, true);
    assert.deepEqual(container.readinessProbe!.grpc, { port: 50051 });
    assert.deepEqual(container.livenessProbe!.grpc, { port: 50051 });
    assert.deepEqual(container.ports, [{ name: "grpc", containerPort: 50051, protocol: "TCP" }]);
    assert.deepEqual(container.resources, DEFAULT_RESOURCES);
    assert.deepEqual(container.volumeMounts, [{ name: "tmp", mountPath: "/tmp" }]);
    assert.ok(pod.volumes!.some((volume) => volume.name === "tmp" && volume.emptyDir));
  });

  it("gets a NetworkPolicy beside it that admits only Patchbay's Pods, on the gRPC port", () => {
    const policy = workload.networkPolicy;
    assert.equal(policy.metadata!.namespace, workload.deployment.metadata!.namespace);
    assert.deepEqual(policy.spec!.podSelector, workload.deployment.spec!.selector);
    assert.deepEqual(policy.spec!.policyTypes, ["Ingress"]);
    assert.deepEqual(policy.spec!.ingress, [
      {
        _from: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "patchbay-system" } },
            podSelector: { matchLabels: { ...MANAGER_POD_LABELS } },
          },
        ],
        ports: [{ protocol: "TCP", port: "grpc" }],
      },
    ]);
    const elsewhere = podWorkload(source("heartbeat"), source("heartbeat").spec.runtime.pod!, "ops");
    assert.deepEqual(elsewhere.networkPolicy.spec!.ingress![0]!._from![0]!.namespaceSelector, {
      matchLabels: { "kubernetes.io/metadata.name": "ops" },
    });
  });

  it("gets its own ServiceAccount without a token, and a ClusterIP Service on the gRPC port", () => {
    assert.equal(pod.serviceAccountName, "patchbay-source-heartbeat");
    assert.equal(pod.automountServiceAccountToken, false);
    assert.equal(workload.service.spec!.type, "ClusterIP");
    assert.deepEqual(
      workload.service.spec!.ports!.map((port) => [port.port, port.targetPort]),
      [[50051, "grpc"]],
    );
    assert.equal(workload.endpoint, "patchbay-source-heartbeat.team-a.svc:50051");
  });

  it("uses a named ServiceAccount, port, replicas, env and resources from the spec", () => {
    const plugin = source("k8s", {
      runtime: {
        pod: {
          image: "example.com/k8s:1",
          port: 9000,
          replicas: 2,
          serviceAccountName: "reader",
          env: [
            { name: "LEVEL", value: "debug" },
            { name: "PATCHBAY_PLUGIN_ADDRESS", value: "evil" },
          ],
          resources: { limits: { memory: "1Gi" } },
        },
      },
    });
    const custom = podWorkload(plugin, plugin.spec.runtime.pod!, "patchbay-system");
    const spec = custom.deployment.spec!;
    assert.equal(custom.serviceAccount, undefined);
    assert.equal(spec.template.spec!.serviceAccountName, "reader");
    assert.equal(spec.template.spec!.automountServiceAccountToken, true);
    assert.equal(spec.replicas, 2);
    assert.deepEqual(spec.template.spec!.containers[0]!.env, [
      { name: "PATCHBAY_PLUGIN_ADDRESS", value: "0.0.0.0:9000" },
      { name: "LEVEL", value: "debug" },
    ]);
    assert.deepEqual(spec.template.spec!.containers[0]!.resources, { limits: { memory: "1Gi" } });
    assert.equal(custom.endpoint, "patchbay-source-k8s.team-a.svc:9000");
    assert.equal(custom.deployment.metadata!.labels!["app.kubernetes.io/name"], "k8s");
  });

  it("runs the image's own entrypoint when the spec sets no command, as a Pod does", () => {
    const containerOf = (pod: NonNullable<SourcePlugin["spec"]["runtime"]["pod"]>) =>
      podWorkload(source("go-plugin", { runtime: { pod } }), pod, "patchbay-system").deployment.spec!.template
        .spec!.containers[0]!;

    const withArgs = containerOf({ image: "example.com/go-plugin:1", args: ["--verbose"] });
    assert.ok(!("command" in withArgs), "no command: the image's ENTRYPOINT runs");
    assert.deepEqual(withArgs.args, ["--verbose"]);

    // Empty lists mean unset, and are left out as the API server leaves them out, so the live
    // container matches the desired one instead of being patched on every reconcile.
    const bare = containerOf({ image: "example.com/go-plugin:1", command: [], args: [] });
    assert.ok(!("command" in bare) && !("args" in bare), JSON.stringify(bare));

    const own = containerOf({ image: "example.com/py-plugin:1", command: ["python", "-m", "plugin"] });
    assert.deepEqual(own.command, ["python", "-m", "plugin"]);
    assert.ok(!("args" in own));
  });
});

describe("sidecar container patches", () => {
  const plugin = source("side", {
    runtime: { sidecar: { image: "img:1", port: 7001, args: ["plugins/echo/main.ts"] } },
  });
  const { container, endpoint } = sidecarContainer(plugin, plugin.spec.runtime.sidecar!);
  const manager = { name: "manager", image: "patchbay" };

  it("runs the image's own entrypoint with the args, unless the spec sets a command", () => {
    assert.ok(!("command" in container), "no command: the image's ENTRYPOINT runs");
    assert.deepEqual(container.args, ["plugins/echo/main.ts"]);
    const node = sidecarContainer(plugin, { ...plugin.spec.runtime.sidecar!, command: ["node"] }).container;
    assert.deepEqual(node.command, ["node"]);
    assert.deepEqual(node.args, ["plugins/echo/main.ts"]);
  });

  it("listens on localhost at its port", () => {
    assert.equal(endpoint, "127.0.0.1:7001");
    assert.equal(container.name, "patchbay-source-side");
    assert.deepEqual(container.env![0], { name: "PATCHBAY_PLUGIN_ADDRESS", value: "127.0.0.1:7001" });
  });

  it("adds a missing container, leaves a matching one, replaces a changed one by index with a guard", () => {
    assert.deepEqual(upsertContainerPatch([manager], container), [
      { op: "add", path: "/spec/template/spec/containers/-", value: container },
    ]);
    const live = {
      ...container,
      imagePullPolicy: "IfNotPresent",
      terminationMessagePath: "/dev/termination-log",
    };
    assert.deepEqual(upsertContainerPatch([manager, live], container), []);
    const changed = { ...container, image: "img:2" };
    assert.deepEqual(upsertContainerPatch([manager, live], changed), [
      { op: "test", path: "/spec/template/spec/containers/1/name", value: "patchbay-source-side" },
      { op: "replace", path: "/spec/template/spec/containers/1", value: changed },
    ]);
  });

  it("removes exactly the named container, and nothing when it is absent", () => {
    const other = { name: "patchbay-executor-x", image: "y" };
    assert.deepEqual(removeContainerPatch([manager, other, container], container.name), [
      { op: "test", path: "/spec/template/spec/containers/2/name", value: "patchbay-source-side" },
      { op: "remove", path: "/spec/template/spec/containers/2" },
    ]);
    assert.deepEqual(removeContainerPatch([manager, other], container.name), []);
  });
});

describe("claims on names and prefixes", () => {
  it("leaves a prefix with the older executor and names it to the newer one", () => {
    const older = executor("kubectl", ["kubectl"], "2024-01-01T00:00:00Z");
    const newer = executor("kubectl-2", ["helm", "kubectl"], "2024-02-01T00:00:00Z");
    const other = executor("helm", ["helm list"], "2024-03-01T00:00:00Z");
    const lost = lostClaims([newer, other, older], (plugin) => plugin.spec.prefixes);
    assert.deepEqual([...lost.keys()], ["team-a/kubectl-2"]);
    assert.equal(lost.get("team-a/kubectl-2")!.reason, "PrefixConflict");
    assert.match(lost.get("team-a/kubectl-2")!.message, /'kubectl'.*team-a\/kubectl/);
  });

  it("keeps a hub name with the older plugin across namespaces", () => {
    const lost = lostClaims(
      [
        executor("echo", ["echo"], "2024-02-01T00:00:00Z", "b"),
        executor("echo", ["say"], "2024-01-01T00:00:00Z", "a"),
      ],
      (plugin) => plugin.spec.prefixes,
    );
    assert.deepEqual([...lost.keys()], ["b/echo"]);
    assert.equal(lost.get("b/echo")!.reason, "NameConflict");
  });
});
