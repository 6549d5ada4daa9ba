/**
 * The samples against the committed CRDs' schemas and CEL rules (src/api/schema-validator.ts: ajv plus
 * the CEL subset), and bad objects, one per rule, rejected with the rule's message. `patchbay local`
 * validates specs with the same schema, so every mistake in a spec is refused there too.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CRD_FILES, readObjects, sampleFiles, type K8sObject } from "./kubectl.ts";
import { schemaValidator, type SchemaValidator } from "../../src/api/schema-validator.ts";
import {
  ALIAS_PATTERN,
  PREFIX_PATTERN,
  validateExecutorSpec,
  validateNotifierSpec,
  validateActionSpec,
  validateSourceSpec,
} from "../../src/api/v1alpha1/index.ts";

const validators = new Map<string, SchemaValidator>(
  CRD_FILES.map((file) => {
    const crd = readObjects(file)[0]!;
    return [crd.spec.names.kind, schemaValidator(crd.spec.versions[0].schema.openAPIV3Schema)];
  }),
);
const validate = (object: K8sObject) => validators.get(object.kind)!.validate(object);

/** What `patchbay local` says about the same spec. */
function localProblems(object: K8sObject): string[] {
  if (object.kind === "SourcePlugin") return validateSourceSpec(object.spec);
  if (object.kind === "ExecutorPlugin") return validateExecutorSpec(object.spec);
  if (object.kind === "Action") return validateActionSpec(object.spec);
  return validateNotifierSpec(object.spec);
}

const IMAGE = "ghcr.io/patchbay/patchbay:0.1.0";
const source = (spec: object): K8sObject => ({
  apiVersion: "patchbay.dev/v1alpha1",
  kind: "SourcePlugin",
  metadata: { name: "heartbeat" },
  spec,
});
const executor = (spec: object): K8sObject => ({
  apiVersion: "patchbay.dev/v1alpha1",
  kind: "ExecutorPlugin",
  metadata: { name: "echo" },
  spec: { prefixes: ["echo"], runtime: { pod: { image: IMAGE } }, ...spec },
});
const notifier = (spec: object): K8sObject => ({
  apiVersion: "patchbay.dev/v1alpha1",
  kind: "Notifier",
  metadata: { name: "chat" },
  spec,
});
const slackUrl = { webhookUrl: { secretKeyRef: { name: "slack", key: "url" } } };

describe("samples in config/samples", () => {
  const objects = sampleFiles().flatMap((file) => readObjects(file).map((object) => ({ file, object })));
  const samples = objects.filter(({ object }) => object.apiVersion === "patchbay.dev/v1alpha1");

  it("include heartbeat, echo and a log Notifier", () => {
    const names = samples.map(({ object }) => `${object.kind}/${object.metadata.name}`);
    for (const expected of ["SourcePlugin/heartbeat", "ExecutorPlugin/echo", "Notifier/log"]) {
      assert.ok(names.includes(expected), names.join(", "));
    }
  });

  for (const { file, object } of samples) {
    it(`${file} (${object.kind}/${object.metadata.name}) validates against its CRD and the local rules`, () => {
      assert.ok(validators.has(object.kind), `${object.kind} is not a Patchbay kind`);
      assert.deepEqual(validate(object), []);
      assert.deepEqual(localProblems(object), []);
    });
  }

  it("create every ServiceAccount a plugin sample names, bound to a read-only ClusterRole", () => {
    const accounts = objects.filter(({ object }) => object.kind === "ServiceAccount");
    const bindings = objects.filter(({ object }) => object.kind === "ClusterRoleBinding");
    const named = samples.map(({ object }) => object.spec.runtime?.pod?.serviceAccountName).filter(Boolean);
    assert.ok(named.length >= 2, "the kubectl and kubernetes samples name their ServiceAccounts");
    for (const name of named) {
      assert.ok(
        accounts.some(({ object }) => object.metadata.name === name),
        `no sample creates ServiceAccount ${name}`,
      );
      const binding = bindings.find(({ object }) =>
        (object.subjects as { name: string }[]).some((subject) => subject.name === name),
      );
      assert.ok(binding, `no sample binds ServiceAccount ${name}`);
      assert.deepEqual(binding.object.roleRef, {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: "view",
      });
    }
  });

  it("plugin samples run a bundled plugin's entrypoint with node from the Patchbay image", () => {
    const plugins = samples.filter(({ object }) => object.kind.endsWith("Plugin"));
    for (const { object } of plugins) {
      const pod = object.spec.runtime.pod;
      assert.equal(pod?.image, IMAGE, object.metadata.name);
      // The image's ENTRYPOINT is `node src/cli/main.ts`; without a command, the plugin file would be
      // an argument to Patchbay's CLI.
      assert.deepEqual(pod.command, ["node"], object.metadata.name);
      assert.match(pod.args[0], /^plugins\/[a-z-]+\/main\.m?[tj]s$/);
    }
  });
});

interface BadCase {
  name: string;
  object: K8sObject;
  /** The CRD's answer. */
  message: RegExp;
  /** False where the mistake is outside the spec (name, status), which local spec validation does not see. */
  local?: false;
}

const badCases: BadCase[] = [
  {
    name: "no runtime mode",
    object: source({ runtime: {} }),
    message: /exactly one runtime mode/,
  },
  {
    name: "two runtime modes",
    object: source({ runtime: { pod: { image: IMAGE }, external: { address: "plugin:50051" } } }),
    message: /exactly one runtime mode/,
  },
  { name: "pod without image", object: source({ runtime: { pod: {} } }), message: /image/ },
  {
    name: "a port out of range",
    object: source({ runtime: { pod: { image: IMAGE, port: 70000 } } }),
    message: /^spec\.runtime\.pod\.port: must be <= 65535 \(got 70000\)$/,
  },
  {
    name: "a sidecar on Patchbay's own port",
    object: source({ runtime: { sidecar: { image: IMAGE, port: 8081 } } }),
    message: /8080 and 8081 are Patchbay's own/,
  },
  {
    name: "an external address without a port",
    object: source({ runtime: { external: { address: "plugin.tools.svc" } } }),
    message: /^spec\.runtime\.external\.address: must match pattern .* \(got "plugin\.tools\.svc"\)$/,
  },
  {
    name: "an external address with port 65536",
    object: source({ runtime: { external: { address: "plugin:65536" } } }),
    message: /address: must match pattern/,
  },
  {
    name: "an env var with value and valueFrom",
    object: source({
      runtime: {
        pod: {
          image: IMAGE,
          env: [{ name: "A", value: "x", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }],
        },
      },
    }),
    message: /set value or valueFrom, not both/,
  },
  {
    name: "the same env var twice",
    object: source({ runtime: { pod: { image: IMAGE, env: [{ name: "A" }, { name: "A" }] } } }),
    message: /duplicate entries for key name/,
  },
  {
    name: "a name that cannot name a Service",
    object: { ...source({ runtime: { pod: { image: IMAGE } } }), metadata: { name: "1heartbeat" } },
    message: /DNS-1035 label/,
    local: false,
  },
  {
    name: "an unknown field (kubectl's strict validation)",
    object: source({ runtime: { pod: { image: IMAGE, imagePullPolicy: "Always" } } }),
    message: /^spec\.runtime\.pod\.imagePullPolicy: unknown field$/,
  },
  {
    name: "no prefixes",
    object: executor({ prefixes: [] }),
    message: /^spec\.prefixes: must NOT have fewer than 1 items$/,
  },
  {
    name: "an upper-case prefix",
    object: executor({ prefixes: ["Kubectl"] }),
    message: /lower-case words/,
  },
  {
    name: "a prefix with a leading space",
    object: executor({ prefixes: [" git"] }),
    message: /lower-case words/,
  },
  {
    name: "a prefix with a double space",
    object: executor({ prefixes: ["git  log"] }),
    message: /lower-case words/,
  },
  { name: "an empty prefix", object: executor({ prefixes: [""] }), message: /lower-case words/ },
  {
    name: "duplicate prefixes",
    object: executor({ prefixes: ["echo", "echo"] }),
    message: /^spec\.prefixes: must not list "echo" twice$/,
  },
  {
    name: "an empty alias",
    object: executor({ aliases: { e: "" } }),
    message: /^spec\.aliases\.e: must NOT have fewer than 1 characters/,
  },
  {
    name: "an alias of two words",
    object: executor({ aliases: { "k g": "kubectl get" } }),
    message: /one lower-case word/,
  },
  {
    name: "an upper-case alias",
    object: executor({ aliases: { K: "kubectl" } }),
    message: /one lower-case word/,
  },
  {
    name: "an empty alias name",
    object: executor({ aliases: { "": "kubectl" } }),
    message: /one lower-case word/,
  },
  {
    name: "a timeout over 600 s",
    object: executor({ timeoutSeconds: 601 }),
    message: /must be <= 600/,
  },
  {
    name: "an unknown notifier type",
    object: notifier({ type: "irc" }),
    message: /^spec\.type: must be one of slack, mattermost, teams, discord, webhook, log \(got "irc"\)$/,
  },
  {
    name: "type slack without its block",
    object: notifier({ type: "slack" }),
    message: /^spec: type slack needs the slack block$/,
  },
  {
    name: "a block other than the type's",
    object: notifier({ type: "log", slack: slackUrl }),
    message: /^spec: the slack block is set but type is not slack; remove it or change type$/,
  },
  {
    name: "a value source with two origins",
    object: notifier({
      type: "slack",
      slack: { webhookUrl: { value: "https://hooks.slack.com/x", env: "SLACK_URL" } },
    }),
    message: /set exactly one of value, secretKeyRef, env, file/,
  },
  {
    name: "a webhook URL that is not http",
    object: notifier({ type: "webhook", webhook: { url: { value: "ftp://example.com/in" } } }),
    message: /http or https URL/,
  },
  {
    name: "sources with neither names nor selector",
    object: notifier({ type: "log", sources: {} }),
    message: /set names and\/or selector/,
  },
  {
    name: "initial backoff above the maximum",
    object: notifier({ type: "log", delivery: { initialBackoffMs: 5000, maxBackoffMs: 1000 } }),
    message: /initialBackoffMs must not exceed maxBackoffMs/,
  },
  {
    name: "an unknown severity",
    object: notifier({ type: "log", filter: { minSeverity: "loud" } }),
    message:
      /^spec\.filter\.minSeverity: must be one of debug, info, warning, error, critical \(got "loud"\)$/,
  },
  {
    name: "a condition with a status outside True/False/Unknown",
    object: {
      ...source({ runtime: { pod: { image: IMAGE } } }),
      status: {
        conditions: [
          {
            type: "Ready",
            status: "Yes",
            reason: "Up",
            message: "",
            lastTransitionTime: "2025-01-01T00:00:00Z",
          },
        ],
      },
    },
    message: /^status\.conditions\[0\]\.status: must be one of True, False, Unknown \(got "Yes"\)$/,
    local: false,
  },
];

describe("bad objects are refused, naming the problem", () => {
  for (const { name, object, message, local } of badCases) {
    it(name, () => {
      const problems = validate(object);
      assert.ok(
        problems.some((problem) => message.test(problem)),
        `expected ${message}, got:\n${problems.join("\n")}`,
      );
      if (local !== false) {
        assert.ok(
          localProblems(object).some((problem) => message.test(problem)),
          `patchbay local should refuse it too, with ${message}; got:\n${localProblems(object).join("\n")}`,
        );
      }
    });
  }

  it("each bad case is the good object plus one mistake (the fixtures are not broken elsewhere)", () => {
    assert.deepEqual(validate(source({ runtime: { pod: { image: IMAGE } } })), []);
    assert.deepEqual(validate(executor({})), []);
    assert.deepEqual(validate(notifier({ type: "slack", slack: slackUrl })), []);
    assert.deepEqual(validate(notifier({ type: "log" })), []);
  });

  it("the CRD's prefix rule and PREFIX_PATTERN agree", () => {
    const crd = readObjects(CRD_FILES[1]!)[0]!;
    const items = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.prefixes.items;
    const rule = items["x-kubernetes-validations"][0].rule as string;
    const pattern = new RegExp(rule.match(/matches\('(.*)'\)/)![1]!);
    for (const candidate of [
      "echo",
      "git log",
      "helm-3 list",
      "a.b_c",
      "Echo",
      "git  log",
      " git",
      "git ",
      "",
      "-x",
      "ä",
    ]) {
      assert.equal(pattern.test(candidate), PREFIX_PATTERN.test(candidate), JSON.stringify(candidate));
    }
  });

  it("the CRD's alias rule and ALIAS_PATTERN agree, and an alias is one word of a prefix", () => {
    const crd = readObjects(CRD_FILES[1]!)[0]!;
    const aliases = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.aliases;
    const rule = aliases["x-kubernetes-validations"][0].rule as string;
    const pattern = new RegExp(rule.match(/matches\('(.*)'\)/)![1]!);
    for (const candidate of ["k", "kgp", "helm-3", "a.b_c", "K", "k g", " k", "k ", "", "-x", "ä"]) {
      const word = PREFIX_PATTERN.test(candidate) && !candidate.includes(" ");
      assert.equal(pattern.test(candidate), ALIAS_PATTERN.test(candidate), JSON.stringify(candidate));
      assert.equal(ALIAS_PATTERN.test(candidate), word, JSON.stringify(candidate));
      const problems = validate(executor({ aliases: { [candidate]: "echo" } }));
      assert.equal(problems.length === 0, word, `${JSON.stringify(candidate)}: ${problems.join("; ")}`);
    }
  });
});
