/** The spec rules `patchbay local` applies where the API server's CEL rules do not run. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  validateExecutorSpec,
  validateSourceSpec,
  type ExecutorPluginSpec,
} from "../../src/api/v1alpha1/index.ts";
import { addDocuments, type ManifestSet } from "../../src/manifests/index.ts";

const processRuntime = { process: { command: ["node", "plugins/echo/main.ts"] } };

describe("plugin spec validation", () => {
  it("accepts one runtime, and names the modes when none or several are set", () => {
    assert.deepEqual(validateSourceSpec({ runtime: processRuntime }), []);
    assert.match(validateSourceSpec({ runtime: {} })[0]!, /exactly one of .* \(it sets none\)/);
    assert.match(
      validateSourceSpec({ runtime: { ...processRuntime, external: { address: "a:1" } } })[0]!,
      /\(it sets process, external\)/,
    );
    assert.deepEqual(validateSourceSpec(undefined), ["spec is required"]);
  });

  it("checks external addresses, IPv6 included", () => {
    for (const address of ["plugin.ns.svc:50051", "10.0.0.1:1", "[::1]:50051", "[fd00::2]:9000"]) {
      assert.deepEqual(validateSourceSpec({ runtime: { external: { address } } }), [], address);
    }
    for (const address of ["plugin", "plugin:", "::1:50051", "a b:1", "host:port"]) {
      assert.match(validateSourceSpec({ runtime: { external: { address } } }).join(), /host:port/, address);
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
    assert.match(validateExecutorSpec(spec({ prefixes: [] })).join(), /at least one command prefix/);
    for (const prefix of ["Kubectl", " kubectl", "kubectl ", "helm  list", "rm;"]) {
      assert.match(
        validateExecutorSpec(spec({ prefixes: [prefix] })).join(),
        /must be lower-case words/,
        prefix,
      );
    }
    assert.match(validateExecutorSpec(spec({ prefixes: ["a", "a"] })).join(), /duplicates/);
    assert.match(
      validateExecutorSpec(spec({ aliases: { "k g": "kubectl get" } })).join(),
      /one lower-case word/,
    );
    assert.match(validateExecutorSpec(spec({ aliases: { k: " " } })).join(), /non-empty command/);
    assert.match(validateExecutorSpec(spec({ timeoutSeconds: 0 })).join(), /between 1 and 600/);
  });
});

describe("the manifest loader", () => {
  const load = (text: string): ManifestSet => {
    const set: ManifestSet = { sources: [], executors: [], notifiers: [], problems: [] };
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
