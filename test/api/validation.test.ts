/** The spec rules `patchbay local` applies where no API server runs the CRDs' schema and CEL rules. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readFile } from "node:fs/promises";
import { parse } from "yaml";
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

describe("Slack notifier modes", () => {
  const webhookUrl = { secretKeyRef: { name: "slack", key: "webhook-url" } };
  const botToken = { secretKeyRef: { name: "slack", key: "bot-token" } };
  const slack = (block: Record<string, unknown>) => validateNotifierSpec({ type: "slack", slack: block });
  const exactlyOne =
    "spec.slack: set exactly one of webhookUrl (an incoming webhook) or botToken (a Slack app, with channel)";

  it("accepts an incoming webhook, or a bot token with a channel (and an API URL)", () => {
    assert.deepEqual(slack({ webhookUrl }), []);
    assert.deepEqual(slack({ botToken, channel: "C0123456789" }), []);
    assert.deepEqual(
      slack({ botToken: { env: "SLACK_BOT_TOKEN" }, channel: "alerts", apiUrl: "http://127.0.0.1:1/api/" }),
      [],
    );
  });

  it("refuses both modes at once, or neither, with the message", () => {
    assert.deepEqual(slack({ webhookUrl, botToken, channel: "alerts" }), [exactlyOne]);
    assert.deepEqual(slack({}), [exactlyOne]);
  });

  it("refuses a bot token without a channel, and app settings on a webhook", () => {
    assert.deepEqual(slack({ botToken }), [
      "spec.slack: botToken needs channel: the channel ID or name the app posts to",
    ]);
    assert.deepEqual(slack({ webhookUrl, channel: "alerts" }), [
      "spec.slack: channel and apiUrl apply only with botToken; an incoming webhook posts to its own channel",
    ]);
    assert.match(
      slack({ botToken, channel: "alerts", apiUrl: "ftp://x" }).join(),
      /^spec\.slack\.apiUrl: must match pattern/,
    );
    assert.match(
      slack({ botToken, channel: "" }).join(),
      /^spec\.slack\.channel: must NOT have fewer than 1 characters/,
    );
  });

  it("the CRD carries the same rule for the API server", async () => {
    const crd = parse(await readFile("crds/patchbay.dev_notifiers.yaml", "utf8")) as {
      spec: {
        versions: {
          schema: { openAPIV3Schema: { properties: { spec: { properties: { slack: unknown } } } } };
        }[];
      };
    };
    const slackSchema = crd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties.slack as {
      "x-kubernetes-validations": { rule: string; message: string }[];
    };
    assert.ok(
      slackSchema["x-kubernetes-validations"].some(
        (rule) =>
          rule.rule === "has(self.webhookUrl) != has(self.botToken)" &&
          `spec.slack: ${rule.message}` === exactlyOne,
      ),
    );
  });
});

describe("Mattermost notifier modes", () => {
  const webhook = { webhookUrl: { env: "MM_HOOK" } };
  const bot = {
    serverUrl: "https://chat.example.com",
    botToken: { secretKeyRef: { name: "mattermost-bot", key: "token" } },
    channelId: "4xp9fdt77pncbef59f4k1qe83o",
  };
  const spec = (mattermost: Record<string, unknown>) => ({ type: "mattermost", mattermost });

  it("accepts a webhook, or a bot with serverUrl, botToken and channelId (and optionally actionsUrl)", () => {
    assert.deepEqual(validateNotifierSpec(spec(webhook)), []);
    assert.deepEqual(validateNotifierSpec(spec({ ...webhook, channel: "town-square", username: "pb" })), []);
    assert.deepEqual(validateNotifierSpec(spec(bot)), []);
    assert.deepEqual(validateNotifierSpec(spec({ ...bot, actionsUrl: "https://patchbay.example.com" })), []);
  });

  it("refuses both modes, neither, a partial bot and webhook-only overrides on a bot, saying which", () => {
    const bothModes =
      "spec.mattermost: webhookUrl (incoming webhook) and serverUrl/botToken/channelId/actionsUrl (bot account) are two modes; set one";
    const oneMode =
      "spec.mattermost: set webhookUrl for an incoming webhook, or all of serverUrl, botToken and channelId for a bot account";
    assert.deepEqual(validateNotifierSpec(spec({ ...webhook, ...bot })), [bothModes]);
    assert.deepEqual(validateNotifierSpec(spec({ ...webhook, actionsUrl: "https://pb.example.com" })), [
      bothModes,
    ]);
    assert.deepEqual(validateNotifierSpec(spec({})), [oneMode]);
    const { channelId: _, ...noChannel } = bot;
    assert.deepEqual(validateNotifierSpec(spec(noChannel)), [oneMode]);
    assert.deepEqual(validateNotifierSpec(spec({ ...bot, username: "patchbay" })), [
      "spec.mattermost: channel, username and iconUrl belong to the webhook mode; a bot posts as itself in channelId",
    ]);
  });

  it("checks the bot's fields: a channel id is 26 lower-case letters and digits, URLs are http(s)", () => {
    assert.match(
      validateNotifierSpec(spec({ ...bot, channelId: "town-square" })).join(),
      /^spec\.mattermost\.channelId: must match pattern/,
    );
    assert.match(
      validateNotifierSpec(spec({ ...bot, serverUrl: "chat.example.com" })).join(),
      /^spec\.mattermost\.serverUrl: must match pattern/,
    );
    assert.match(
      validateNotifierSpec(spec({ ...bot, actionsUrl: "https://user:pw@pb.example.com" })).join(),
      /^spec\.mattermost\.actionsUrl: must match pattern/,
    );
    assert.deepEqual(validateNotifierSpec(spec({ ...bot, botToken: { value: "x", env: "Y" } })), [
      "spec.mattermost.botToken: set exactly one of value, secretKeyRef, env, file",
    ]);
  });
});

describe("Slack commands: Socket Mode and the HTTP endpoints", () => {
  const botToken = { secretKeyRef: { name: "slack", key: "bot-token" } };
  const appToken = { secretKeyRef: { name: "slack", key: "app-token" } };
  const signingSecret = { secretKeyRef: { name: "slack", key: "signing-secret" } };
  const notifier = (slack: Record<string, unknown>, commands: Record<string, unknown>) =>
    validateNotifierSpec({ type: "slack", slack, commands: { executors: ["kubectl"], slack: commands } });

  it("accepts an app-level token, a signing secret, or both, with the app's bot token", () => {
    const app = { botToken, channel: "alerts" };
    assert.deepEqual(notifier(app, { appToken }), []);
    assert.deepEqual(notifier(app, { signingSecret }), []);
    assert.deepEqual(notifier(app, { appToken, signingSecret }), []);
    // Slash commands alone still work with an incoming webhook.
    assert.deepEqual(
      notifier({ webhookUrl: { value: "https://hooks.slack.com/services/x" } }, { signingSecret }),
      [],
    );
  });

  it("refuses Socket Mode without a bot token, and a slack block that enables nothing", () => {
    assert.deepEqual(
      notifier({ webhookUrl: { value: "https://hooks.slack.com/services/x" } }, { appToken }),
      [
        "spec: commands.slack.appToken (Socket Mode) needs slack.botToken: the answers are posted as the Slack app",
      ],
    );
    assert.deepEqual(notifier({ botToken, channel: "alerts" }, {}), [
      "spec.commands.slack: set appToken (Socket Mode: buttons and mentions without a public endpoint) and/or signingSecret (the HTTP endpoints)",
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
