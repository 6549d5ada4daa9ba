/**
 * The kubectl policy on its own, fast: what it reads from the arguments (command, flags with their
 * arity, operands, resources, namespace) and what it refuses, with the exact reasons. The reading is
 * checked against the real kubectl in kubectl-reading.test.ts; this file is what mutation testing runs.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  canonicalResource,
  checkCommand,
  commandFlags,
  DEFAULT_DENIED_RESOURCES,
  GLOBAL_FLAGS,
  KNOWN_VERBS,
  READ_ONLY_VERBS,
  Refusal,
  type CheckedCommand,
  type KubectlPolicy,
} from "./policy.ts";

const defaults: KubectlPolicy = {
  verbs: READ_ONLY_VERBS,
  resources: [],
  deniedResources: DEFAULT_DENIED_RESOURCES,
  namespaces: [],
};
const check = (args: string[], policy: Partial<KubectlPolicy> = {}): CheckedCommand =>
  checkCommand(args, { ...defaults, ...policy });
const refused = (args: string[], reason: RegExp | string, policy: Partial<KubectlPolicy> = {}) =>
  assert.throws(
    () => check(args, policy),
    (err: Error) => {
      assert.ok(err instanceof Refusal, `${args.join(" ")}: ${err}`);
      assert.equal(err.name, "Refusal");
      if (typeof reason === "string") assert.equal(err.message, reason);
      else assert.match(err.message, reason);
      return true;
    },
    `${args.join(" ")} must be refused`,
  );
const ALL_VERBS = "get, describe, logs, top, explain, api-resources, api-versions, version";

describe("kubectl policy: the verb comes first", () => {
  it("knows exactly the read-only verbs", () => {
    assert.deepEqual(KNOWN_VERBS, ALL_VERBS.split(", "));
    assert.deepEqual(READ_ONLY_VERBS, KNOWN_VERBS);
    assert.deepEqual(DEFAULT_DENIED_RESOURCES, ["secrets"]);
  });

  it("refuses any flag before the verb, so no flag can swallow the verb as its value", () => {
    const reason = `put the verb first: flags before it are refused (kubectl may read the verb as a flag's value); allowed verbs: ${ALL_VERBS}`;
    refused(["-p", "get", "patch", "secret", "db", "-n", "vfy", "-p", "{}"], reason);
    refused(["-n", "shop", "get", "pods"], reason);
    refused(["--namespace=shop", "get", "pods"], reason);
    refused(["-A", "get", "pods"], reason);
  });

  it("refuses a missing verb and every verb it does not know", () => {
    refused([], `no verb given; allowed verbs: ${ALL_VERBS}`);
    for (const verb of [
      "patch",
      "set",
      "cluster-info",
      "delete",
      "exec",
      "auth",
      "config",
      "plugin",
      "constructor",
    ]) {
      refused([verb, "env"], `verb "${verb}" is not allowed; allowed verbs: ${ALL_VERBS}`);
    }
    refused(["set", "env", "deploy/web", "A=1"], /verb "set" is not allowed/);
    refused(["cluster-info", "dump"], /verb "cluster-info" is not allowed/);
  });

  it("refuses a verb off the configured list, and a configured verb whose grammar it does not know", () => {
    refused(["logs", "web-1"], `verb "logs" is not allowed; allowed verbs: get`, { verbs: ["get"] });
    refused(["delete", "pod", "web-1"], `verb "delete" is not allowed; allowed verbs: get, delete`, {
      verbs: ["get", "delete"],
    });
  });

  it("finds top's sub-command right after it, by name or alias", () => {
    for (const sub of ["pod", "pods", "po"]) {
      const checked = check(["top", sub, "web-1", "-n", "shop"]);
      assert.equal(checked.command, "top pod");
      assert.deepEqual(checked.operands, ["web-1"]);
      assert.deepEqual(checked.resources, ["pods"]);
    }
    for (const sub of ["node", "nodes", "no"]) {
      const checked = check(["top", sub]);
      assert.equal(checked.command, "top node");
      assert.deepEqual(checked.resources, ["nodes"]);
    }
    for (const args of [["top"], ["top", "-n", "shop", "pod"], ["top", "deploy"]]) {
      refused(args, `"kubectl top" needs "pod" or "node" right after it`);
    }
  });
});

describe("kubectl policy: flags as pflag reads them", () => {
  // Each command's flags as `kubectl <command> --help` lists them (checked against kubectl itself in
  // kubectl-reading.test.ts): booleans, value flags and shorthands.
  const grammar: Record<
    string,
    { booleans: string[]; values: string[]; shorthands: Record<string, string> }
  > = {
    get: {
      booleans: [
        "all-namespaces",
        "allow-missing-template-keys",
        "ignore-not-found",
        "no-headers",
        "output-watch-events",
        "recursive",
        "server-print",
        "show-kind",
        "show-labels",
        "show-managed-fields",
      ],
      values: ["chunk-size", "field-selector", "label-columns", "selector", "sort-by"],
      shorthands: { A: "all-namespaces", L: "label-columns", R: "recursive", l: "selector", o: "output" },
    },
    describe: {
      booleans: ["all-namespaces", "recursive", "show-events"],
      values: ["chunk-size", "selector"],
      shorthands: { A: "all-namespaces", R: "recursive", l: "selector" },
    },
    logs: {
      booleans: ["all-containers", "all-pods", "ignore-errors", "prefix", "previous", "timestamps"],
      values: [
        "container",
        "limit-bytes",
        "max-log-requests",
        "pod-running-timeout",
        "selector",
        "since",
        "since-time",
        "tail",
      ],
      shorthands: { c: "container", p: "previous", l: "selector" },
    },
    "top pod": {
      booleans: ["all-namespaces", "containers", "no-headers", "sum", "use-protocol-buffers"],
      values: ["field-selector", "selector", "sort-by"],
      shorthands: { A: "all-namespaces", l: "selector" },
    },
    "top node": {
      booleans: ["no-headers", "show-capacity", "use-protocol-buffers"],
      values: ["selector", "sort-by"],
      shorthands: { l: "selector" },
    },
    explain: { booleans: ["recursive"], values: ["api-version"], shorthands: { o: "output" } },
    "api-resources": {
      booleans: ["cached", "namespaced", "no-headers"],
      values: ["api-group", "categories", "sort-by", "verbs"],
      shorthands: { o: "output" },
    },
    "api-versions": { booleans: [], values: [], shorthands: {} },
    version: { booleans: ["client"], values: [], shorthands: { o: "output" } },
  };
  const globals = {
    booleans: ["help"],
    values: ["namespace", "request-timeout"],
    shorthands: { h: "help", n: "namespace" },
  };
  const commandArgs = (command: string) => command.split(" ");

  for (const [command, own] of Object.entries(grammar)) {
    const booleans = [...own.booleans, ...globals.booleans];
    const values = [...own.values, ...globals.values];
    const shorthands = { ...own.shorthands, ...globals.shorthands };
    const valueOf = (name: string) => (name === "namespace" ? "shop" : "v1");

    it(`${command}: a boolean alone is true; --flag=true|false sets it; nothing else does`, () => {
      for (const name of booleans) {
        assert.deepEqual(
          check([...commandArgs(command), `--${name}`]).flags,
          [{ name, value: "true" }],
          `--${name}`,
        );
        for (const value of ["true", "false"]) {
          assert.deepEqual(check([...commandArgs(command), `--${name}=${value}`]).flags, [{ name, value }]);
        }
        refused([...commandArgs(command), `--${name}=yes`], `flag --${name} takes true or false, not "yes"`);
      }
    });

    it(`${command}: a value flag takes the next argument or its =value`, () => {
      for (const name of values) {
        const v = valueOf(name);
        assert.deepEqual(
          check([...commandArgs(command), `--${name}`, v]).flags,
          [{ name, value: v }],
          `--${name}`,
        );
        assert.deepEqual(check([...commandArgs(command), `--${name}=${v}`]).flags, [{ name, value: v }]);
        refused([...commandArgs(command), `--${name}`], `flag --${name} needs a value`);
        refused(
          [...commandArgs(command), `--${name}`, "--kubeconfig=/tmp/evil"],
          `flag --${name} needs a value, not the flag-like "--kubeconfig=/tmp/evil"`,
        );
      }
    });

    it(`${command}: shorthands, alone, with =value, with the value attached`, () => {
      for (const [letter, name] of Object.entries(shorthands)) {
        if (name === "output") continue; // its values are checked per verb below
        if (booleans.includes(name)) {
          assert.deepEqual(check([...commandArgs(command), `-${letter}`]).flags, [{ name, value: "true" }]);
          assert.deepEqual(check([...commandArgs(command), `-${letter}=false`]).flags, [
            { name, value: "false" },
          ]);
        } else {
          const v = valueOf(name);
          for (const args of [[`-${letter}`, v], [`-${letter}${v}`], [`-${letter}=${v}`]]) {
            assert.deepEqual(
              check([...commandArgs(command), ...args]).flags,
              [{ name, value: v }],
              args.join(" "),
            );
          }
        }
      }
    });

    it(`${command}: a flag it does not have is refused`, () => {
      const has = new Set([...booleans, ...values, ...Object.values(shorthands), "output"]);
      for (const name of [
        "all-namespaces",
        "previous",
        "selector",
        "show-labels",
        "client",
        "tail",
        "overrides",
      ]) {
        if (has.has(name)) continue;
        refused(
          [...commandArgs(command), `--${name}`],
          `flag --${name} is not on the kubectl executor's allow-list for "kubectl ${command}"; see its README for the flags each verb accepts`,
        );
      }
      const hasOutput = ["get", "explain", "api-resources", "version"].includes(command);
      for (const letter of ["A", "p", "l", "c", "L", "R", "o", "x"]) {
        if (letter in shorthands || (letter === "o" && hasOutput)) continue;
        refused(
          [...commandArgs(command), `-${letter}`],
          new RegExp(`^flag -${letter} is not on the kubectl executor's allow-list for "kubectl ${command}"`),
        );
      }
    });
  }

  it("exposes exactly these flag tables, for the check against kubectl's help", () => {
    const tables = Object.fromEntries(
      [...commandFlags()].map(([command, flags]) => [
        command,
        {
          booleans: flags.filter((f) => f.arity === "boolean").map((f) => f.name),
          values: flags.filter((f) => f.arity !== "boolean").map((f) => f.name),
          shorthands: Object.fromEntries(flags.filter((f) => f.short).map((f) => [f.short, f.name])),
        },
      ]),
    );
    const expected = Object.fromEntries(
      Object.entries(grammar).map(([command, own]) => [
        command,
        {
          booleans: own.booleans,
          values: [
            ...own.values,
            ...(Object.values(own.shorthands).includes("output") ? ["output"] : []),
          ].sort(),
          shorthands: own.shorthands,
        },
      ]),
    );
    for (const table of Object.values(tables)) table.values.sort();
    assert.deepEqual(tables, expected);
    assert.deepEqual(
      GLOBAL_FLAGS.map((f) => [f.name, f.arity, f.short]),
      [
        ["namespace", "value", "n"],
        ["request-timeout", "value", undefined],
        ["help", "boolean", "h"],
      ],
    );
  });

  it("names a shorthand as written when its value is missing or wrong", () => {
    refused(["get", "pods", "-l"], "flag -l needs a value");
    refused(["get", "pods", "-Al"], "flag -l needs a value");
    refused(["get", "pods", "-l", "-A"], `flag -l needs a value, not the flag-like "-A"`);
    refused(["get", "pods", "-A=yes"], `flag -A takes true or false, not "yes"`);
    refused(["get", "pods", "-RA=1"], `flag -A takes true or false, not "1"`);
  });

  it("reads -p as logs --previous, and refuses it elsewhere", () => {
    assert.deepEqual(check(["logs", "web-1", "-p"]).flags, [{ name: "previous", value: "true" }]);
    refused(
      ["get", "pods", "-p", "{}"],
      /^flag -p is not on the kubectl executor's allow-list for "kubectl get"/,
    );
  });

  it("reads a boolean's next argument as an operand: --show-labels true names a pod called true", () => {
    const checked = check(["get", "pods", "--show-labels", "true"]);
    assert.deepEqual(checked.operands, ["pods", "true"]);
    assert.deepEqual(checked.flags, [{ name: "show-labels", value: "true" }]);
  });

  it("reads clusters of shorthands as pflag does", () => {
    assert.deepEqual(check(["get", "pods", "-Ao", "json"]).flags, [
      { name: "all-namespaces", value: "true" },
      { name: "output", value: "json" },
    ]);
    assert.deepEqual(check(["get", "pods", "-Aojson"]).flags, [
      { name: "all-namespaces", value: "true" },
      { name: "output", value: "json" },
    ]);
    assert.deepEqual(check(["get", "pods", "-ARlapp=web"]).flags, [
      { name: "all-namespaces", value: "true" },
      { name: "recursive", value: "true" },
      { name: "selector", value: "app=web" },
    ]);
    // "-oA": A is -o's value, not a flag.
    refused(["get", "pods", "-oA"], /^output "A" is not allowed/);
    // pflag reads "-n=" as the value "=", not as an empty one.
    assert.deepEqual(check(["get", "pods", "-n="]).flags, [{ name: "namespace", value: "=" }]);
    // "-A=" is -A then an unknown shorthand "=".
    refused(["get", "pods", "-A="], /^flag -= is not on the kubectl executor's allow-list/);
    refused(["logs", "web-1", "-pf"], "flag -f is not allowed: reading local files is not allowed");
  });

  it("keeps operands wherever they stand, and the last of a repeated flag", () => {
    const checked = check(["get", "-n", "a", "pods", "-n", "b", "web", "-", ""]);
    assert.deepEqual(checked.operands, ["pods", "web", "-", ""]);
    assert.equal(checked.namespace, "b");
    assert.deepEqual(check(["get", "pods", "-A", "-A=false"]).allNamespaces, false);
    assert.deepEqual(check(["get", "pods", "-A=false", "-A"]).allNamespaces, true);
    assert.deepEqual(check(["get", "pods"]).allNamespaces, false);
  });

  it("refuses --, malformed long flags, and underscores (kubectl would read them as dashes)", () => {
    refused(["get", "pods", "--", "x"], "flag -- is not allowed: arguments after -- are passed on unchecked");
    refused(
      ["get", "pods", "--all_namespaces"],
      /^flag --all_namespaces is not on the kubectl executor's allow-list/,
    );
    refused(["get", "pods", "---A"], /^flag ---A is not on the kubectl executor's allow-list/);
    refused(["get", "pods", "--=x"], /^flag -- is not on the kubectl executor's allow-list/);
    refused(["get", "pods", "--toString"], /^flag --toString is not on the kubectl executor's allow-list/);
  });

  it("refuses identity, endless, file-reading and verbose flags with their reason, in every spelling", () => {
    const identity = "changes the identity or the cluster kubectl talks to";
    const reasons: Record<string, string> = {
      kubeconfig: identity,
      server: identity,
      token: identity,
      as: identity,
      "as-group": identity,
      "as-uid": identity,
      context: identity,
      cluster: identity,
      user: identity,
      username: identity,
      password: identity,
      "certificate-authority": identity,
      "client-key": identity,
      "client-certificate": identity,
      "insecure-skip-tls-verify": identity,
      "tls-server-name": identity,
      "cache-dir": identity,
      watch: "watching never ends",
      "watch-only": "watching never ends",
      follow: "following logs never ends",
      filename: "reading local files is not allowed",
      kustomize: "reading local files is not allowed",
      template: "reading local template files is not allowed",
      raw: "raw API paths bypass the resource allow-list",
      v: "verbose logs can print credentials",
      vmodule: "verbose logs can print credentials",
    };
    for (const [name, reason] of Object.entries(reasons)) {
      refused(["get", "pods", `--${name}`, "x"], `flag --${name} is not allowed: ${reason}`);
      refused(["logs", "web-1", `--${name}=x`], `flag --${name} is not allowed: ${reason}`);
    }
    const shorthands: Record<string, string> = {
      s: identity,
      w: "watching never ends",
      f: "reading local files is not allowed",
      k: "reading local files is not allowed",
      v: "verbose logs can print credentials",
    };
    for (const [letter, reason] of Object.entries(shorthands)) {
      refused(["get", "pods", `-${letter}`], `flag -${letter} is not allowed: ${reason}`);
      refused(["get", "pods", `-A${letter}9`], `flag -${letter} is not allowed: ${reason}`);
    }
  });

  it("refuses shell metacharacters anywhere", () => {
    for (const arg of ["a;b", "a|b", "a&b", "`id`", "<x", ">x", "a\nb", "a\rb", "a\0b", "$(id)", "${HOME}"]) {
      refused(
        ["get", "pods", "-l", arg],
        `argument ${JSON.stringify(arg)} contains a shell metacharacter; refused`,
      );
    }
    assert.equal(check(["get", "pods", "-l", "app=$x"]).command, "get");
  });
});

describe("kubectl policy: output formats, by verb, anchored", () => {
  const getFormats =
    "json, yaml, wide, name, jsonpath=, jsonpath-as-json=, go-template=, template=, custom-columns=";
  it("get prints in the printing formats only", () => {
    for (const format of [
      "json",
      "yaml",
      "wide",
      "name",
      "jsonpath={.items}",
      "jsonpath-as-json={.items}",
      "go-template={{.kind}}",
      "template={{.kind}}",
      "custom-columns=NAME:.metadata.name",
      "jsonpath=",
    ]) {
      assert.deepEqual(check(["get", "pods", "-o", format]).flags, [{ name: "output", value: format }]);
    }
    for (const format of [
      "jsonpath-file=/etc/passwd",
      "go-template-file=/etc/passwd",
      "templatefile=/etc/passwd",
      "custom-columns-file=/etc/passwd",
      "xjson",
      "jsonx",
      "yaml2",
      "awide",
      "names",
      "jsonpath",
      "xjsonpath={.a}",
      "",
    ]) {
      refused(
        ["get", "pods", `--output=${format}`],
        `output ${JSON.stringify(format)} is not allowed for "kubectl get" (file-reading formats never are); allowed: ${getFormats}`,
      );
    }
  });

  it("explain, api-resources and version take their own formats", () => {
    assert.deepEqual(check(["explain", "pods", "-o", "plaintext"]).flags, [
      { name: "output", value: "plaintext" },
    ]);
    assert.equal(check(["explain", "pods", "-oplaintext-openapiv2"]).command, "explain");
    refused(
      ["explain", "pods", "-o", "json"],
      `output "json" is not allowed for "kubectl explain" (file-reading formats never are); allowed: plaintext, plaintext-openapiv2`,
    );
    refused(["explain", "pods", "-o", "xplaintext"], /^output "xplaintext"/);
    refused(["explain", "pods", "-o", "plaintext2"], /^output "plaintext2"/);
    assert.equal(check(["api-resources", "-o", "wide"]).command, "api-resources");
    assert.equal(check(["api-resources", "-o", "name"]).command, "api-resources");
    refused(
      ["api-resources", "-o", "json"],
      /^output "json" is not allowed for "kubectl api-resources" .*allowed: wide, name$/,
    );
    refused(["api-resources", "-o", "wider"], /^output "wider"/);
    refused(["api-resources", "-o", "nname"], /^output "nname"/);
    assert.equal(check(["version", "-o", "json"]).command, "version");
    assert.equal(check(["version", "-o", "yaml"]).command, "version");
    refused(
      ["version", "-o", "wide"],
      /^output "wide" is not allowed for "kubectl version" .*allowed: json, yaml$/,
    );
    refused(["version", "-o", "jsonx"], /^output "jsonx"/);
    refused(["version", "-o", "xyaml"], /^output "xyaml"/);
  });
});

describe("kubectl policy: operands and resources", () => {
  it("get and describe: TYPE lists, TYPE/NAME, and the all category", () => {
    assert.deepEqual(check(["get", "po,svc", "web"]).resources, ["pods", "services"]);
    assert.deepEqual(check(["get", "deploy/web", "po/web-1", "deployment.apps/x"]).resources, [
      "deployments",
      "pods",
    ]);
    assert.deepEqual(check(["get", "pods", "cm/x"]).resources, ["pods", "configmaps"]);
    assert.deepEqual(check(["get"]).resources, []);
    assert.deepEqual(check(["get", "all"]).resources, [
      "pods",
      "services",
      "daemonsets",
      "deployments",
      "replicasets",
      "statefulsets",
      "replicationcontrollers",
      "jobs",
      "cronjobs",
      "horizontalpodautoscalers",
    ]);
    assert.deepEqual(check(["get", "ALL,cm"]).resources.slice(-2), [
      "horizontalpodautoscalers",
      "configmaps",
    ]);
    refused(
      ["get", "all"],
      `resource "deployments" is always refused (deniedResources: deploy) so that its data is never printed to a channel`,
      {
        deniedResources: ["deploy"],
      },
    );
  });

  it("describe also reads Events and, for some kinds, other resources", () => {
    const reads = (args: string[], policy: Partial<KubectlPolicy> = {}) =>
      check(["describe", ...args], policy).reads;
    assert.deepEqual(reads(["pod", "web-1"]), ["pods", "events"]);
    assert.deepEqual(reads(["sa", "x"], { deniedResources: [] }), ["serviceaccounts", "secrets", "events"]);
    assert.deepEqual(reads(["ns", "shop"]), ["namespaces", "resourcequotas", "limitranges", "events"]);
    assert.deepEqual(reads(["deploy"]), ["deployments", "replicasets", "events"]);
    for (const kind of ["rs", "rc", "sts", "ds", "job"])
      assert.deepEqual(reads([kind]).slice(1), ["pods", "events"], kind);
    assert.deepEqual(reads(["svc"]), ["services", "endpoints", "endpointslices", "events"]);
    assert.deepEqual(reads(["ing"]), ["ingresses", "services", "endpoints", "events"]);
    assert.deepEqual(reads(["pvc"]), ["persistentvolumeclaims", "pods", "events"]);
    assert.deepEqual(reads(["nodes"]), ["nodes", "pods", "leases", "events"]);
    assert.deepEqual(check(["get", "sa"]).reads, ["serviceaccounts"]);
    assert.deepEqual(check(["describe", "sa", "x"], { deniedResources: [] }).resources, ["serviceaccounts"]);
  });

  it("names every type in its messages", () => {
    refused(
      ["describe", "sa,deploy"],
      `resource "secrets" (read by "kubectl describe" for serviceaccounts, deployments) is always refused (deniedResources: configmaps, secrets) so that its data is never printed to a channel`,
      { deniedResources: ["configmaps", "secrets"] },
    );
    refused(["get", "cm"], `resource "configmaps" is not allowed; allowed resources: pods, deploy`, {
      resources: ["pods", "deploy"],
    });
  });

  it("refuses describe serviceaccounts while Secrets are denied: kubectl lists the Secrets", () => {
    refused(
      ["describe", "sa", "default", "-n", "shop"],
      `resource "secrets" (read by "kubectl describe" for serviceaccounts) is always refused (deniedResources: secrets) so that its data is never printed to a channel`,
    );
  });

  it("checks only the named types against resources, every read against deniedResources", () => {
    assert.equal(check(["describe", "deploy", "web"], { resources: ["deployments"] }).command, "describe");
    refused(
      ["describe", "deploy", "web"],
      /^resource "replicasets" \(read by "kubectl describe" for deployments\) is always refused/,
      {
        deniedResources: ["rs"],
      },
    );
  });

  it("logs reads Pods, and a TYPE/NAME's type too", () => {
    assert.deepEqual(check(["logs", "web-1"]).resources, ["pods"]);
    assert.deepEqual(check(["logs", "web-1", "main"]).operands, ["web-1", "main"]);
    assert.deepEqual(check(["logs", "-l", "app=web"]).resources, ["pods"]);
    assert.deepEqual(check(["logs", "deploy/web"]).resources, ["pods", "deployments"]);
    assert.deepEqual(check(["logs", "pod/web-1"]).resources, ["pods"]);
    refused(["logs", "web-1"], `resource "pods" is not allowed; allowed resources: deployments`, {
      resources: ["deployments"],
    });
    refused(["logs", "deploy/web"], `resource "pods" is not allowed; allowed resources: deployments`, {
      resources: ["deployments"],
    });
    refused(["logs", "deploy/web"], `resource "deployments" is not allowed; allowed resources: pods`, {
      resources: ["pods"],
    });
    assert.equal(check(["logs", "deploy/web"], { resources: ["pods", "deploy"] }).command, "logs");
    refused(["logs", "pods,secret/db"], /^resource "secrets" is always refused/);
    refused(
      ["logs", "a", "b", "c"],
      `"kubectl logs" takes POD or TYPE/NAME, then optionally a container; refused extra "c"`,
    );
  });

  it("explain reads a type's schema; version and api-* take no operands; top at most a name", () => {
    assert.deepEqual(check(["explain", "deployment.spec.replicas"]).resources, ["deployments"]);
    assert.deepEqual(check(["explain"]).resources, []);
    refused(["explain", "secret.data"], /^resource "secrets" is always refused/);
    refused(["explain", "pods", "svc"], `"kubectl explain" takes one TYPE[.field]; refused extra "svc"`);
    for (const verb of ["version", "api-resources", "api-versions"]) {
      assert.deepEqual(check([verb]).resources, []);
      refused([verb, "secrets"], `"kubectl ${verb}" takes no arguments; refused extra "secrets"`);
    }
    refused(["top", "pod", "a", "b"], `"kubectl top pod" takes at most a pod name; refused extra "b"`);
    refused(["top", "node", "a", "b"], `"kubectl top node" takes at most a node name; refused extra "b"`);
    refused(["top", "node"], `resource "nodes" is not allowed; allowed resources: pods`, {
      resources: ["pods"],
    });
  });

  it("refuses denied resources however they are named, and types off the allow-list", () => {
    for (const args of [
      ["get", "secret"],
      ["get", "Secrets", "-o", "yaml"],
      ["get", "secret/x", "pod/y"],
      ["get", "pods,secrets"],
      ["get", "secrets.v1."],
      ["describe", "secret", "db"],
    ]) {
      refused(
        args,
        `resource "secrets" is always refused (deniedResources: secrets) so that its data is never printed to a channel`,
      );
    }
    refused(["get", "secrets"], /^resource "secrets" is always refused/, { resources: ["pods", "secrets"] });
    assert.deepEqual(check(["get", "secrets"], { deniedResources: [] }).resources, ["secrets"]);
    refused(["get", "po,cm"], `resource "configmaps" is not allowed; allowed resources: pods`, {
      resources: ["pods"],
    });
    assert.deepEqual(check(["get", "po,pod,Pods"], { resources: ["po"] }).resources, ["pods"]);
  });
});

describe("kubectl policy: namespaces, for every verb", () => {
  const shopOnly = { namespaces: ["shop", "web"] };
  const reason = (ns: string) => `namespace "${ns}" is not allowed; allowed namespaces: shop, web`;

  it("refuses a namespace off the list with every verb, version and api-* included", () => {
    for (const command of [
      ["get", "pods"],
      ["describe", "pods"],
      ["logs", "web-1"],
      ["top", "pod"],
      ["top", "node"],
      ["explain", "pods"],
      ["api-resources"],
      ["api-versions"],
      ["version"],
    ]) {
      refused([...command, "-n", "other"], reason("other"), shopOnly);
      refused([...command, "--namespace=other"], reason("other"), shopOnly);
      refused([...command, "-nother"], reason("other"), shopOnly);
      refused([...command, "-n", "shop", "-n", "other"], reason("other"), shopOnly);
      refused([...command, "-n", "other", "-n", "shop"], reason("other"), shopOnly);
    }
    assert.equal(check(["version", "-n", "web"], shopOnly).namespace, "web");
    assert.equal(check(["version"], shopOnly).namespace, undefined);
    assert.deepEqual(check(["api-resources", "--namespaced=false"], shopOnly).args, [
      "api-resources",
      "--namespaced=false",
    ]);
  });

  it("refuses -A and --all-namespaces in every spelling against a namespace list", () => {
    const allReason = "--all-namespaces is not allowed; allowed namespaces: shop, web";
    for (const flag of [
      ["-A"],
      ["--all-namespaces"],
      ["--all-namespaces=true"],
      ["-A=true"],
      ["-A=false", "-A"],
      ["-lx", "-A"],
    ]) {
      for (const command of [
        ["get", "pods"],
        ["describe", "pods"],
        ["top", "pod"],
      ]) {
        refused([...command, ...flag, "-n", "shop"], allReason, shopOnly);
      }
    }
    assert.equal(check(["get", "pods", "-A=false", "-n", "shop"], shopOnly).allNamespaces, false);
    refused(
      ["logs", "web-1", "-A"],
      /^flag -A is not on the kubectl executor's allow-list for "kubectl logs"/,
      shopOnly,
    );
    refused(
      ["version", "--all-namespaces"],
      /^flag --all-namespaces is not on the kubectl executor's allow-list for "kubectl version"/,
      shopOnly,
    );
  });

  it("needs a namespace for namespaced verbs, or adds the default", () => {
    refused(["get", "pods"], "name a namespace with -n; allowed namespaces: shop, web", shopOnly);
    refused(["logs", "web-1"], "name a namespace with -n; allowed namespaces: shop, web", shopOnly);
    refused(["describe", "pods"], "name a namespace with -n; allowed namespaces: shop, web", shopOnly);
    refused(["top", "pod"], "name a namespace with -n; allowed namespaces: shop, web", shopOnly);
    for (const command of [
      ["version"],
      ["api-versions"],
      ["api-resources"],
      ["explain", "pods"],
      ["top", "node"],
    ]) {
      assert.deepEqual(check(command, shopOnly).args, command);
    }
    const defaulted = check(["get", "pods"], { ...shopOnly, defaultNamespace: "web" });
    assert.deepEqual(defaulted.args, ["get", "pods", "-n", "web"]);
    assert.equal(defaulted.namespace, "web");
    refused(["get", "pods"], reason("kube-system"), { ...shopOnly, defaultNamespace: "kube-system" });
    assert.deepEqual(check(["get", "pods", "-n", "shop"], { ...shopOnly, defaultNamespace: "web" }).args, [
      "get",
      "pods",
      "-n",
      "shop",
    ]);
    assert.deepEqual(check(["explain", "pods"], { ...shopOnly, defaultNamespace: "web" }).args, [
      "explain",
      "pods",
    ]);
    assert.deepEqual(check(["top", "node"], { ...shopOnly, defaultNamespace: "web" }).args, ["top", "node"]);
  });

  it("adds the default namespace without a list, but not over -A", () => {
    assert.deepEqual(check(["get", "pods"], { defaultNamespace: "shop" }).args, [
      "get",
      "pods",
      "-n",
      "shop",
    ]);
    assert.deepEqual(check(["get", "pods", "-A"], { defaultNamespace: "shop" }).args, ["get", "pods", "-A"]);
    assert.equal(check(["get", "pods", "-A"], { defaultNamespace: "shop" }).namespace, undefined);
    assert.deepEqual(check(["version"], { defaultNamespace: "shop" }).args, ["version"]);
    assert.deepEqual(check(["get", "pods"]).args, ["get", "pods"]);
    assert.equal(check(["get", "pods", "-A"]).allNamespaces, true);
  });

  it("refuses an empty namespace, which kubectl would replace by its kubeconfig's", () => {
    refused(["get", "pods", "--namespace="], "flag --namespace needs a namespace name");
    refused(["get", "pods", "-n", ""], "flag --namespace needs a namespace name");
  });

  it("refuses describe nodes and namespaces against a namespace list: they read in other namespaces", () => {
    refused(
      ["describe", "nodes", "-n", "shop"],
      `"kubectl describe nodes" lists the Pods of every namespace; allowed namespaces: shop, web`,
      shopOnly,
    );
    refused(
      ["describe", "ns", "shop", "-n", "shop"],
      `"kubectl describe namespaces" reads the quotas and limit ranges of every namespace it describes; allowed namespaces: shop, web`,
      shopOnly,
    );
    refused(["describe", "pods,no", "-n", "shop"], /^"kubectl describe nodes" lists the Pods/, shopOnly);
    // Without a list they run, known to read across namespaces.
    for (const type of ["nodes", "namespaces"]) {
      const checked = check(["describe", type]);
      assert.equal(checked.allNamespaces, true, type);
      assert.equal(check(["get", type]).allNamespaces, false, type);
    }
    assert.equal(check(["describe", "pods"]).allNamespaces, false);
    assert.equal(check(["get", "nodes", "-n", "shop"], shopOnly).command, "get");
  });
});

describe("kubectl policy: canonical resource names", () => {
  it("maps short names, singulars, kinds and API groups to the plural", () => {
    const expected: Record<string, string> = {
      po: "pods",
      svc: "services",
      deploy: "deployments",
      ns: "namespaces",
      no: "nodes",
      cm: "configmaps",
      ds: "daemonsets",
      sts: "statefulsets",
      rs: "replicasets",
      ing: "ingresses",
      ingress: "ingresses",
      pvc: "persistentvolumeclaims",
      pv: "persistentvolumes",
      sa: "serviceaccounts",
      ev: "events",
      cj: "cronjobs",
      hpa: "horizontalpodautoscalers",
      ep: "endpoints",
      netpol: "networkpolicies",
      pdb: "poddisruptionbudgets",
      sc: "storageclasses",
      crd: "customresourcedefinitions",
      crds: "customresourcedefinitions",
      Pod: "pods",
      pods: "pods",
      "pods.v1.": "pods",
      "Deployment.apps": "deployments",
      networkpolicy: "networkpolicies",
      gateway: "gateways",
      storageclass: "storageclasses",
      ingressclass: "ingressclasses",
      keypolicy: "keypolicies",
      "": "s",
      secret: "secrets",
      constructor: "constructors",
    };
    for (const [name, plural] of Object.entries(expected))
      assert.equal(canonicalResource(name), plural, name);
  });
});
