/** Who may run what: resolving a chat user against a channel's access rules, and the dispatcher applying it. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  accessRefusal,
  CommandDispatcher,
  resolveAccess,
  type CommandAccessConfig,
  type PersonAccess,
} from "../../src/commands/index.ts";
import { FakeExecutorDirectory } from "./fake-executors.ts";

const config: CommandAccessConfig = {
  groups: { sre: ["U012ABC", "carol"], oncall: ["U555"] },
  access: [
    {
      users: ["U099XYZ"],
      executors: ["kubectl"],
      kubernetes: { user: "alice@example.com", groups: ["sre", "viewers"] },
    },
    { users: ["U666"], executors: [] },
    { groups: ["oncall", "sre"], executors: ["echo", "kubectl"], kubernetes: { user: "oncall" } },
    { users: ["U555"], executors: ["helm"] },
  ],
};

describe("resolveAccess", () => {
  test("without access rules nothing is narrowed, whoever asks", () => {
    assert.equal(resolveAccess(undefined, ["U1"]), undefined);
    assert.equal(resolveAccess({}, ["U1"]), undefined);
    assert.equal(resolveAccess({ groups: { sre: ["U1"] } }, ["U1"]), undefined);
  });

  test("a rule naming the user gives its executors and Kubernetes identity", () => {
    assert.deepEqual(resolveAccess(config, ["U099XYZ"]), {
      user: "U099XYZ",
      executors: ["kubectl"],
      named: true,
      impersonation: { user: "alice@example.com", groups: ["sre", "viewers"] },
    });
  });

  test("a rule naming a group the user is in applies; an identity without groups impersonates the user alone", () => {
    assert.deepEqual(resolveAccess(config, ["carol", "M-id-1"]), {
      user: "carol",
      executors: ["echo", "kubectl"],
      named: true,
      impersonation: { user: "oncall", groups: [] },
    });
    // Matched through its second identity (a Mattermost user id), shown by its first.
    assert.deepEqual(resolveAccess(config, ["dave", "U012ABC"])?.executors, ["echo", "kubectl"]);
    assert.equal(resolveAccess(config, ["dave", "U012ABC"])?.user, "dave");
    const direct = resolveAccess({ access: [{ users: ["U1"], executors: ["echo"] }] }, ["U1"]);
    assert.deepEqual(direct, { user: "U1", executors: ["echo"], named: true });
  });

  test("the first rule that names the user decides, even when a later one would give more", () => {
    // U555 is in oncall (third rule) before its own rule (fourth).
    assert.deepEqual(resolveAccess(config, ["U555"])?.executors, ["echo", "kubectl"]);
    // U666's empty rule comes first: refused everything.
    assert.deepEqual(resolveAccess(config, ["U666"]), { user: "U666", executors: [], named: true });
  });

  test("someone no rule names may use nothing; an empty or missing identity is nobody", () => {
    assert.deepEqual(resolveAccess(config, ["U777"]), { user: "U777", executors: [], named: false });
    assert.deepEqual(resolveAccess(config, ["", ""]), {
      user: "unknown user",
      executors: [],
      named: false,
    });
    // An empty member never matches an empty identity.
    assert.equal(resolveAccess({ access: [{ users: [""], executors: ["echo"] }] }, [""])?.named, false);
  });

  test("a rule naming an undefined group, or a name that is an object property, names nobody", () => {
    const odd: CommandAccessConfig = {
      access: [{ groups: ["constructor", "ghost"], executors: ["echo"] }],
    };
    assert.equal(resolveAccess(odd, ["constructor"])?.named, false);
    assert.equal(resolveAccess({ ...odd, groups: {} }, ["ghost"])?.named, false);
  });
});

describe("accessRefusal", () => {
  const person = (overrides: Partial<PersonAccess>): PersonAccess => ({
    user: "U777",
    executors: [],
    named: false,
    ...overrides,
  });

  test("someone no rule names is told so, and which executor they would need", () => {
    assert.equal(
      accessRefusal(person({}), "kubectl"),
      'you (U777) are not allowed to use the executor "kubectl" here: no access rule of this channel names you. To run this command you need access to "kubectl": ask the channel\'s admins to grant it in the Notifier\'s spec.commands.access',
    );
  });

  test("someone with other executors is told their own, never anyone else's", () => {
    assert.equal(
      accessRefusal(person({ named: true, executors: ["echo", "helm"] }), "kubectl"),
      'you (U777) are not allowed to use the executor "kubectl" here: your access covers only "echo", "helm". To run this command you need access to "kubectl": ask the channel\'s admins to grant it in the Notifier\'s spec.commands.access',
    );
    assert.match(
      accessRefusal(person({ named: true }), "kubectl"),
      /^you \(U777\) are not allowed to use the executor "kubectl" here: your access rule grants no executor\. /,
    );
  });
});

describe("dispatch with access rules", () => {
  const directory = new FakeExecutorDirectory([
    { name: "kubectl", prefixes: ["kubectl"], helpText: "kubectl help" },
    { name: "echo", prefixes: ["echo"], helpText: "echo help" },
    { name: "helm", prefixes: ["helm"], helpText: "helm help" },
  ]);
  const dispatcher = new CommandDispatcher({ executors: directory });
  const asUser = (user: string, command: string, allowedExecutors?: string[]) =>
    dispatcher.dispatch({
      command,
      user,
      notifier: "ops",
      allowedExecutors,
      access: resolveAccess(config, [user]),
    });

  test("the same command from two users: one runs with their identity, one is refused", async () => {
    const allowed = await asUser("U099XYZ", "kubectl get pods");
    assert.equal(allowed.status, "ok", allowed.error);
    assert.equal(allowed.output, "kubectl: kubectl get pods");
    assert.deepEqual(directory.calls.at(-1)!.request.context, {
      user: "U099XYZ",
      notifier: "ops",
      channel: "",
      impersonation: { user: "alice@example.com", groups: ["sre", "viewers"] },
    });

    const calls = directory.calls.length;
    const refused = await asUser("U777", "kubectl get pods");
    assert.deepEqual(refused, {
      status: "forbidden",
      executor: "kubectl",
      output: "",
      truncated: false,
      error: accessRefusal({ user: "U777", executors: [], named: false }, "kubectl"),
    });
    assert.equal(directory.calls.length, calls, "a refused command reaches no executor");
  });

  test("a person whose rule has no Kubernetes identity runs without impersonation", async () => {
    const answer = await dispatcher.dispatch({
      command: "echo hi",
      user: "U1",
      access: resolveAccess({ access: [{ users: ["U1"], executors: ["echo"] }] }, ["U1"]),
    });
    assert.equal(answer.status, "ok");
    assert.equal("impersonation" in directory.calls.at(-1)!.request.context, false);
  });

  test("the channel's limit still applies, and says it is the channel's, whatever the person's rule", async () => {
    const refused = await asUser("U099XYZ", "kubectl get pods", ["echo"]);
    assert.equal(refused.status, "forbidden");
    assert.equal(refused.error, 'this channel may not use the executor "kubectl" (prefix "kubectl")');
    // Within the channel's executors, the person's rule narrows further.
    const narrowed = await asUser("U099XYZ", "echo hi", ["echo", "kubectl"]);
    assert.match(
      narrowed.error,
      /^you \(U099XYZ\) are not allowed to use the executor "echo" here: your access covers only "kubectl"\./,
    );
    assert.equal((await asUser("carol", "echo hi", ["echo", "kubectl"])).status, "ok");
  });

  test("help lists only what the person may use; an unknown command is still unknown", async () => {
    const help = await asUser("carol", "help", ["echo", "helm", "kubectl"]);
    assert.match(help.output, /echo help/);
    assert.match(help.output, /kubectl help/);
    assert.doesNotMatch(help.output, /helm/);
    assert.equal((await asUser("U777", "help")).output, "No commands are available in this channel.");
    assert.equal((await asUser("U777", "flux get all")).status, "unknown-command");
  });
});
