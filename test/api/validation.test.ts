/** The spec rules `patchbay local` applies where no API server runs the CRDs' schema and CEL rules. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  validateExecutorSpec,
  validateNotifierSpec,
  validateSourceSpec,
  type ExecutorPluginSpec,
} from "../../src/api/v1alpha1/index.ts";
import { addDocuments, type ManifestSet } from "../../src/manifests/index.ts";

const processRuntime = { process: { command: ["node", "plugins/echo/main.ts"] } };

describe("plugin spec validation", () => {
  it("accepts one runtime, and refuses none or several", () => {
    assert.deepEqual(validateSourceSpec({ runtime: processRuntime }), []);
    const oneMode = "spec.runtime: set exactly one runtime mode: pod, sidecar, external or process";
    assert.deepEqual(validateSourceSpec({ runtime: {} }), [oneMode]);
    assert.deepEqual(validateSourceSpec({ runtime: { ...processRuntime, external: { address: "a:1" } } }), [
      oneMode,
    ]);
    assert.deepEqual(validateSourceSpec(undefined), ["spec: required"]);
  });

  it("checks external addresses, IPv6 included", () => {
    for (const address of ["plugin.ns.svc:50051", "10.0.0.1:1", "[::1]:50051", "[fd00::2]:9000"]) {
      assert.deepEqual(validateSourceSpec({ runtime: { external: { address } } }), [], address);
    }
    for (const address of ["plugin", "plugin:", "::1:50051", "a b:1", "host:port"]) {
      assert.match(
        validateSourceSpec({ runtime: { external: { address } } }).join(),
        /^spec\.runtime\.external\.address: must match pattern .* \(got ".*"\)$/,
        address,
      );
    }
  });

  it("requires well-formed, unique prefixes and one-word aliases", () => {
    const spec = (extra: Partial<ExecutorPluginSpec>): ExecutorPluginSpec => ({
      runtime: processRuntime,
      prefixes: ["kubectl"],
      ...extra,
    });
    assert.deepEqual(
      validateExecutorSpec(spec({ prefixes: ["kubectl", "helm list"], aliases: { k: "kubectl" } })),
      [],
    );
    assert.deepEqual(validateExecutorSpec(spec({ prefixes: [] })), [
      "spec.prefixes: must NOT have fewer than 1 items",
    ]);
    for (const prefix of ["Kubectl", " kubectl", "kubectl ", "helm  list", "rm;"]) {
      assert.match(
        validateExecutorSpec(spec({ prefixes: [prefix] })).join(),
        /^spec\.prefixes\[0\]: a prefix is one or more lower-case words/,
        prefix,
      );
    }
    assert.deepEqual(validateExecutorSpec(spec({ prefixes: ["a", "a"] })), [
      'spec.prefixes: must not list "a" twice',
    ]);
    assert.match(
      validateExecutorSpec(spec({ aliases: { "k g": "kubectl get" } })).join(),
      /^spec\.aliases: an alias is one lower-case word/,
    );
    assert.deepEqual(validateExecutorSpec(spec({ aliases: { k: " " } })), [
      'spec.aliases.k: must match pattern "\\S" (got " ")',
    ]);
    assert.deepEqual(validateExecutorSpec(spec({ timeoutSeconds: 0 })), [
      "spec.timeoutSeconds: must be >= 1 (got 0)",
    ]);
  });
});

describe("the manifest loader", () => {
  const load = (text: string): ManifestSet => {
    const set: ManifestSet = { sources: [], executors: [], notifiers: [], actions: [], problems: [] };
    addDocuments(set, "x.yaml", "/dir", text);
    return set;
  };

  it("loads each kind and reports every bad document by position, keeping the good ones", () => {
    const set = load(`
apiVersion: patchbay.dev/v1alpha1
kind: SourcePlugin
metadata: {name: beats}
spec: {runtime: {process: {command: [node, b.ts]}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
---
apiVersion: patchbay.dev/v1alpha1
kind: ExecutorPlugin
metadata: {name: 9lives}
spec: {prefixes: [x], runtime: {process: {command: [node, x.ts]}}}
---
: not yaml: [
---
apiVersion: patchbay.dev/v1alpha1
kind: Notifier
metadata: {name: logs}
spec: {type: log}
`);
    assert.deepEqual(
      set.sources.map((item) => item.resource.metadata.name),
      ["beats"],
    );
    assert.deepEqual(
      set.notifiers.map((item) => item.resource.metadata.name),
      ["logs"],
    );
    assert.equal(set.executors.length, 0);
    assert.equal(set.problems.length, 3);
    assert.match(set.problems[0]!, /^x\.yaml#2: apiVersion must be patchbay\.dev\/v1alpha1 \(got v1\)/);
    assert.match(set.problems[1]!, /^x\.yaml#3: ExecutorPlugin metadata\.name must be a DNS-1035 label/);
    assert.match(set.problems[2]!, /^x\.yaml#4: not valid YAML/);
  });
});

describe("notifier command access", () => {
  const spec = (commands: object) => ({ type: "log", commands });
  const problems = (commands: object) => validateNotifierSpec(spec(commands));

  it("accepts groups, rules by user and by group, and a Kubernetes identity", () => {
    assert.deepEqual(
      problems({
        executors: ["kubectl", "echo"],
        groups: { sre: ["U012ABC", "alice"] },
        access: [
          {
            users: ["U099XYZ"],
            executors: ["kubectl"],
            kubernetes: { user: "alice@example.com", groups: ["sre"] },
          },
          { groups: ["sre"], executors: ["echo"] },
          { users: ["intern"], executors: [] },
          { groups: ["sre"], executors: ["kubectl"], kubernetes: { user: "sre-bot" } },
        ],
      }),
      [],
    );
    // Without spec.commands.executors the channel may use every executor, so a rule may name any.
    assert.deepEqual(problems({ access: [{ users: ["U1"], executors: ["helm"] }] }), []);
  });

  it("refuses a rule's executor that the channel may not use", () => {
    assert.deepEqual(
      problems({ executors: ["echo"], access: [{ users: ["U1"], executors: ["echo", "kubectl"] }] }),
      ["spec.commands: an access rule may only name executors listed in spec.commands.executors"],
    );
  });

  it("refuses a rule that names an undefined group, or nobody", () => {
    const undefinedGroup =
      "spec.commands: an access rule may only name groups defined in spec.commands.groups";
    assert.deepEqual(problems({ access: [{ groups: ["sre"], executors: [] }] }), [undefinedGroup]);
    assert.deepEqual(problems({ groups: { ops: ["U1"] }, access: [{ groups: ["sre"], executors: [] }] }), [
      undefinedGroup,
    ]);
    assert.deepEqual(problems({ access: [{ executors: ["echo"] }] }), [
      "spec.commands.access[0]: an access rule names users and/or groups",
    ]);
    assert.deepEqual(problems({ access: [{ users: ["U1"] }] }), [
      "spec.commands.access[0].executors: required",
    ]);
  });

  it("refuses malformed group names, chat users and Kubernetes identities", () => {
    assert.deepEqual(problems({ groups: { SRE: ["U1"] } }), [
      "spec.commands.groups: a group name is lower-case letters, digits and dashes",
    ]);
    assert.match(
      problems({ access: [{ users: ["U1,U2"], executors: [] }] }).join(),
      /^spec\.commands\.access\[0\]\.users\[0\]: must match pattern/,
    );
    // The API server refuses Impersonate-Group without Impersonate-User.
    assert.deepEqual(
      problems({ access: [{ users: ["U1"], executors: [], kubernetes: { groups: ["viewers"] } }] }),
      ["spec.commands.access[0].kubernetes.user: required"],
    );
    assert.match(
      problems({ access: [{ users: ["U1"], executors: [], kubernetes: { user: "a\r\nX-Evil: 1" } }] }).join(),
      /^spec\.commands\.access\[0\]\.kubernetes\.user: must match pattern/,
    );
  });
});
