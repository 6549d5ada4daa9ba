/**
 * The rendered install (`kubectl kustomize .`) as a cluster admin would review it: a hardened manager
 * Deployment, least-privilege RBAC whose subjects exist, Services that reach real ports, a NetworkPolicy
 * that selects plugin Pods; and a Dockerfile whose image matches what the Deployment runs.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { MANAGER_POD_LABELS } from "../../src/operator/names.ts";
import { kubectl, parseObjects, ROOT, type K8sObject } from "./kubectl.ts";

let install: K8sObject[];
const find = (kind: string, name: string) => {
  const object = install.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(object, `${kind}/${name} is not rendered`);
  return object;
};

before(async () => {
  install = parseObjects((await kubectl(["kustomize", "."])).stdout);
});

describe("the manager Deployment", () => {
  const deployment = () => find("Deployment", "patchbay-controller-manager");
  const manager = () =>
    deployment().spec.template.spec.containers.find((c: { name: string }) => c.name === "manager");

  it("runs two replicas with a rolling update, for leader election", () => {
    assert.equal(deployment().spec.replicas, 2);
    assert.equal(deployment().spec.strategy.type, "RollingUpdate");
    assert.equal(find("PodDisruptionBudget", "patchbay-controller-manager").spec.minAvailable, 1);
  });

  it("runs the compiled `node src/cli/main.js operator` from the released image", () => {
    assert.equal(manager().image, "ghcr.io/patchbay/patchbay:0.1.0");
    assert.deepEqual([...manager().command, ...manager().args], ["node", "src/cli/main.js", "operator"]);
  });

  it("is non-root, read-only, without privilege escalation or capabilities, under RuntimeDefault seccomp", () => {
    const pod = deployment().spec.template.spec;
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(pod.securityContext.seccompProfile.type, "RuntimeDefault");
    assert.equal(pod.automountServiceAccountToken, undefined, "the manager needs its token");
    const security = manager().securityContext;
    assert.equal(security.runAsNonRoot, true);
    assert.equal(security.readOnlyRootFilesystem, true);
    assert.equal(security.allowPrivilegeEscalation, false);
    assert.deepEqual(security.capabilities.drop, ["ALL"]);
    assert.equal(security.capabilities.add, undefined);
    assert.equal(security.privileged, undefined);
    const tmp = manager().volumeMounts.find((m: { mountPath: string }) => m.mountPath === "/tmp");
    const volume = pod.volumes.find((v: { name: string }) => v.name === tmp?.name);
    assert.ok(volume?.emptyDir, "/tmp is a writable emptyDir");
  });

  it("probes /healthz and /readyz on the management port 8081; ingress on 8080", () => {
    const ports = Object.fromEntries(
      manager().ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]),
    );
    assert.deepEqual(ports, { http: 8080, management: 8081 });
    assert.deepEqual(manager().livenessProbe.httpGet, { path: "/healthz", port: "management" });
    assert.deepEqual(manager().readinessProbe.httpGet, { path: "/readyz", port: "management" });
  });

  it("sets requests and limits, POD_NAMESPACE/POD_NAME from the downward API, and the ingress token Secret", () => {
    const { requests, limits } = manager().resources;
    assert.ok(requests.cpu && requests.memory && limits.memory);
    const env = Object.fromEntries(
      manager().env.map(
        (e: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }) => [
          e.name,
          e.value ?? e.valueFrom?.fieldRef?.fieldPath,
        ],
      ),
    );
    assert.deepEqual(env, {
      POD_NAMESPACE: "metadata.namespace",
      POD_NAME: "metadata.name",
      // Bounds on V8's heap that keep RSS near the live heap (bench/cluster-scale.ts measures it).
      NODE_OPTIONS: "--max-semi-space-size=2 --max-old-space-size=384",
      // The operator creates it with a random token when missing; without tokens it refuses /commands.
      PATCHBAY_INGRESS_TOKENS_SECRET: "patchbay-ingress-tokens",
      // Empty until a user patches in the cluster's name (README "Cluster name").
      PATCHBAY_CLUSTER_NAME: "",
    });
    assert.ok(
      !manager().env.some((e: { name: string }) => e.name === "PATCHBAY_INGRESS_ALLOW_ANONYMOUS"),
      "the install does not open the ingress to anonymous callers",
    );
  });

  it("runs as the ServiceAccount the RBAC bindings name", () => {
    assert.equal(deployment().spec.template.spec.serviceAccountName, "patchbay-controller-manager");
    find("ServiceAccount", "patchbay-controller-manager");
  });
});

describe("Services", () => {
  it("route the ingress (80 → http) and metrics (8081 → management) to the manager Pods", () => {
    const podLabels = find("Deployment", "patchbay-controller-manager").spec.template.metadata.labels;
    for (const [name, port, target] of [
      ["patchbay-ingress", 80, "http"],
      ["patchbay-metrics", 8081, "management"],
    ] as const) {
      const service = find("Service", name);
      assert.deepEqual(
        service.spec.ports.map((p: { port: number; targetPort: string }) => [p.port, p.targetPort]),
        [[port, target]],
      );
      for (const [key, value] of Object.entries(service.spec.selector))
        assert.equal(podLabels[key], value, `${name} selects ${key}`);
    }
  });
});

describe("RBAC", () => {
  const rolesOf = () => install.filter((o) => o.kind === "ClusterRole" || o.kind === "Role");

  it("has no wildcard verbs, resources or API groups", () => {
    for (const role of rolesOf()) {
      for (const rule of role.rules) {
        for (const field of ["verbs", "resources", "apiGroups"]) {
          assert.ok(!rule[field].includes("*"), `${role.kind}/${role.metadata.name} has * in ${field}`);
        }
      }
    }
  });

  it("gives the manager exactly what the controller uses, and no more", () => {
    // Each verb here is a call in src/ (informers list+watch; Cluster reads, creates, merge-patches or
    // replaces, and deletes workloads; status and finalizers are patches; Secrets are read one by one;
    // the Lease is read, created and replaced). The manifests must grant exactly this list; when the
    // code starts or stops making a call, change the list with it.
    const grants = (kind: string, name: string) => {
      const granted: Record<string, string[]> = {};
      for (const rule of find(kind, name).rules as {
        apiGroups: string[];
        resources: string[];
        verbs: string[];
      }[])
        for (const group of rule.apiGroups)
          for (const resource of rule.resources)
            granted[`${group}/${resource}`] = [
              ...(granted[`${group}/${resource}`] ?? []),
              ...rule.verbs,
            ].sort();
      return granted;
    };
    const manager: Record<string, string[]> = {};
    for (const kind of ["sourceplugins", "executorplugins", "notifiers"]) {
      manager[`patchbay.dev/${kind}`] = ["get", "list", "patch", "watch"];
      manager[`patchbay.dev/${kind}/status`] = ["get", "patch"];
      manager[`patchbay.dev/${kind}/finalizers`] = ["update"];
    }
    // Actions own nothing: an informer lists and watches them, the leader patches their status.
    manager["patchbay.dev/actions"] = ["list", "watch"];
    manager["patchbay.dev/actions/status"] = ["patch"];
    manager["apps/deployments"] = ["create", "delete", "get", "list", "patch", "watch"];
    manager["/services"] = ["create", "delete", "list", "patch", "watch"];
    manager["/serviceaccounts"] = ["create", "delete", "list", "patch", "watch"];
    manager["networking.k8s.io/networkpolicies"] = ["create", "delete", "list", "update", "watch"];
    manager["/events"] = ["create", "patch"];
    assert.deepEqual(grants("ClusterRole", "patchbay-manager-role"), manager);
    assert.deepEqual(grants("ClusterRole", "patchbay-secret-reader"), { "/secrets": ["get"] });
    const leaderElection = find("Role", "patchbay-leader-election-role");
    assert.equal(leaderElection.metadata.namespace, "patchbay-system");
    assert.deepEqual(grants("Role", "patchbay-leader-election-role"), {
      "coordination.k8s.io/leases": ["create", "get", "update"],
      "/events": ["create", "patch"],
    });
    // The ingress token Secret: read by name, created when missing (a create cannot be narrowed by name),
    // and only in Patchbay's own namespace, where the manager runs.
    const tokens = find("Role", "patchbay-ingress-tokens-role");
    assert.equal(tokens.metadata.namespace, "patchbay-system");
    assert.equal(
      tokens.metadata.namespace,
      find("Deployment", "patchbay-controller-manager").metadata.namespace,
    );
    assert.deepEqual(tokens.rules, [
      { apiGroups: [""], resources: ["secrets"], resourceNames: ["patchbay-ingress-tokens"], verbs: ["get"] },
      { apiGroups: [""], resources: ["secrets"], verbs: ["create"] },
    ]);
    // No other role grants the manager anything (the editor and viewer roles are for users).
    assert.deepEqual(
      rolesOf()
        .map((role) => `${role.kind}/${role.metadata.name}`)
        .sort(),
      [
        "ClusterRole/patchbay-editor-role",
        "ClusterRole/patchbay-manager-role",
        "ClusterRole/patchbay-secret-reader",
        "ClusterRole/patchbay-viewer-role",
        "Role/patchbay-ingress-tokens-role",
        "Role/patchbay-leader-election-role",
      ],
    );
  });

  it("binds every role to a ServiceAccount that is installed, and every roleRef to a role that is", () => {
    const bindings = install.filter((o) => o.kind === "ClusterRoleBinding" || o.kind === "RoleBinding");
    assert.ok(bindings.length >= 3);
    for (const binding of bindings) {
      const roleKind = binding.roleRef.kind;
      find(roleKind, binding.roleRef.name);
      for (const subject of binding.subjects) {
        const account = find("ServiceAccount", subject.name);
        assert.equal(subject.namespace, account.metadata.namespace, binding.metadata.name);
      }
    }
  });
});

describe("plugin NetworkPolicies", () => {
  it("admit the manager Pods by the labels the manager Deployment gives them", () => {
    const podLabels = find("Deployment", "patchbay-controller-manager").spec.template.metadata.labels;
    for (const [key, value] of Object.entries(MANAGER_POD_LABELS)) assert.equal(podLabels[key], value, key);
  });
});

describe("the Dockerfile", () => {
  const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
  const finalStage = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));
  const ignored = readFileSync(join(ROOT, ".dockerignore"), "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"));

  it("builds on Node 24 and installs production dependencies without install scripts", () => {
    assert.match(dockerfile, /^ARG NODE_IMAGE=node:24-[a-z-]+$/m);
    assert.match(dockerfile, /npm ci --omit=dev --ignore-scripts/);
    const lockfile = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8"));
    assert.equal(
      lockfile.packages["node_modules/node"]?.dev,
      true,
      "the node package (with its install script) is dev-only",
    );
  });

  it("runs as numeric non-root user 1000 with the same command the Deployment uses", () => {
    assert.match(finalStage, /^USER 1000:1000$/m);
    assert.match(finalStage, /^ENTRYPOINT \["node", "src\/cli\/main.js"\]$/m);
    assert.match(finalStage, /^CMD \["operator"\]$/m);
  });

  it("compiles what exists in a build stage, and the image takes the compiled tree where its sources sit", () => {
    // Every path copied from the build context, in any stage, exists and is not dropped by .dockerignore.
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    for (const needed of [
      "package-lock.json",
      "tsconfig.build.json",
      "src",
      "plugins",
      "packages/sdk/src",
      "proto",
    ]) {
      assert.ok(copied.includes(needed), `COPY ${needed}`);
    }
    for (const path of copied) {
      assert.ok(existsSync(join(ROOT, path)), `${path} exists`);
      assert.ok(!ignored.includes(path), `.dockerignore drops ${path}`);
    }
    assert.match(finalStage, /^COPY --from=build \/app\/dist\/src \.\/src$/m);
    assert.match(finalStage, /^COPY --from=build \/app\/dist\/plugins \.\/plugins$/m);
    assert.ok(existsSync(join(ROOT, "src/cli/main.ts")), "the entrypoint's source exists");
    for (const dropped of [".git", "node_modules", "test", "**/*.test.ts"])
      assert.ok(ignored.includes(dropped), dropped);
  });
});
