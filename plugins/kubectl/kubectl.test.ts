/**
 * The kubectl executor as a real process running the REAL kubectl — against an unreachable server and
 * against the shared Kubernetes API test double — and a recording stand-in that proves refused
 * commands run nothing at all.
 */
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import {
  ExecuteErrorCode,
  type ExecuteResponse,
  type ExecutorClient,
  type HelpResponse,
} from "@patchbay/sdk/protocol";
import { startKubeApiDouble, type KubeApiDouble } from "../../test/support/kube-api/index.ts";
import { executorClient, startPlugin, unary, type StartedPlugin } from "../testing/index.ts";

const dir = mkdtempSync(join(tmpdir(), "patchbay-kubectl-"));
const recordFile = join(dir, "invocations.log");

/** A stand-in kubectl that writes each invocation's arguments, bracketed, as one line. */
function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}
const recorder = script(
  "record-kubectl",
  `for a in "$@"; do printf '[%s]' "$a" >> '${recordFile}'; done; echo >> '${recordFile}'; echo ran`,
);
const slow = script("slow-kubectl", "echo starting; exec sleep 30");
const chatty = script("chatty-kubectl", "head -c 300000 /dev/zero | tr '\\000' x");
const concurrencyLog = join(dir, "concurrency.log");
// Records its start and end, so the test can count how many ran at once.
const counted = script(
  "counted-kubectl",
  `echo "start $$" >> '${concurrencyLog}'; sleep 1; echo "end $$" >> '${concurrencyLog}'; echo done`,
);
const failing = script(
  "failing-kubectl",
  'echo "Error from server (NotFound): pods \\"nope\\" not found" >&2; exit 1',
);

function invocations(): string[] {
  return existsSync(recordFile) ? readFileSync(recordFile, "utf8").split("\n").filter(Boolean) : [];
}

/** A kubeconfig whose server refuses connections, so the real kubectl fails the way it would. */
async function unreachableKubeconfig(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  const path = join(dir, "kubeconfig");
  writeFileSync(
    path,
    `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://127.0.0.1:${port}"}}]
users: [{name: u, user: {token: secret}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`,
  );
  return path;
}

/** Sends `kubectl <args>` to the plugin's Execute, as the hub does after prefix dispatch. */
function execute(
  client: ExecutorClient,
  args: string[],
  config: object = {},
  timeoutMs = 10_000,
): Promise<ExecuteResponse> {
  return unary<ExecuteResponse>(
    (m, o, cb) =>
      client.execute(
        {
          command: ["kubectl", ...args].join(" "),
          args: ["kubectl", ...args],
          prefix: "kubectl",
          configJson: JSON.stringify(config),
          context: { executorName: "kubectl", user: "alice", notifier: "", channel: "" },
        },
        m,
        o,
        cb,
      ),
    timeoutMs,
  );
}

describe("kubectl executor", () => {
  let plugin: StartedPlugin;
  let client: ExecutorClient;
  before(async () => {
    plugin = await startPlugin("plugins/kubectl/main.ts", {
      env: { KUBECONFIG: await unreachableKubeconfig(), HOME: dir },
    });
    client = executorClient(plugin.address);
  });
  after(async () => {
    client.close();
    await plugin.stop("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  const run = (args: string[], config: object = {}, timeoutMs = 10_000) =>
    execute(client, args, config, timeoutMs);

  it("runs the real kubectl for an allowed verb", async () => {
    const answer = await run(["version", "--client", "-o", "json"]);
    assert.equal(answer.errorCode, ExecuteErrorCode.EXECUTE_ERROR_CODE_OK, answer.errorMessage);
    assert.match(JSON.parse(answer.output).clientVersion.gitVersion, /^v1\./);
  });

  it("answers kubectl's own error as `failed` when the cluster cannot be reached", async () => {
    const answer = await run(["get", "pods", "-n", "default"]);
    assert.equal(answer.errorCode, ExecuteErrorCode.EXECUTE_ERROR_CODE_FAILED);
    assert.match(answer.errorMessage, /kubectl exited with code 1/);
    assert.match(answer.output, /connection refused|couldn't get current server API group list/);
  });

  it("passes allowed arguments verbatim, with nothing expanded", async () => {
    const before = invocations().length;
    const answer = await run(
      ["get", "po", "-l", "app=web", "-o", "jsonpath={.items[*].metadata.name}", "-A"],
      {
        kubectlPath: recorder,
      },
    );
    assert.equal(answer.errorCode, ExecuteErrorCode.EXECUTE_ERROR_CODE_OK, answer.errorMessage);
    assert.equal(answer.output, "ran\n");
    assert.deepEqual(invocations().slice(before), [
      "[get][po][-l][app=web][-o][jsonpath={.items[*].metadata.name}][-A]",
    ]);
  });

  it("lets every printing output format through", async () => {
    const before = invocations().length;
    const formats = [
      "json",
      "yaml",
      "wide",
      "name",
      "custom-columns=NAME:.metadata.name",
      "go-template={{.kind}}",
    ];
    for (const format of formats) {
      const answer = await run(["get", "pods", "-o", format], { kubectlPath: recorder });
      assert.equal(answer.errorCode, ExecuteErrorCode.EXECUTE_ERROR_CODE_OK, answer.errorMessage);
    }
    const answer = await run(["get", "pods", "--output=jsonpath-as-json={.items}"], {
      kubectlPath: recorder,
    });
    assert.equal(answer.errorCode, ExecuteErrorCode.EXECUTE_ERROR_CODE_OK, answer.errorMessage);
    assert.equal(invocations().length - before, formats.length + 1);
  });

  it("lets secrets through once deniedResources is emptied", async () => {
    const before = invocations().length;
    const answer = await run(["get", "pods,secrets", "-o", "yaml"], {
      kubectlPath: recorder,
      deniedResources: [],
    });
    assert.equal(answer.errorCode, ExecuteErrorCode.EXECUTE_ERROR_CODE_OK, answer.errorMessage);
    assert.deepEqual(invocations().slice(before), ["[get][pods,secrets][-o][yaml]"]);
  });

  it("adds the default namespace when a command names none", async () => {
    const before = invocations().length;
    await run(["get", "pods"], { kubectlPath: recorder, namespaces: ["shop"], defaultNamespace: "shop" });
    await run(["version", "--client"], { kubectlPath: recorder, defaultNamespace: "shop" });
    assert.deepEqual(invocations().slice(before), ["[get][pods][-n][shop]", "[version][--client]"]);
  });

  describe("refuses without running anything", () => {
    const refused: [string, string[], object, RegExp][] = [
      [
        "a write verb",
        ["delete", "pod", "web-1"],
        {},
        /verb "delete" is not allowed; allowed verbs: get, describe/,
      ],
      ["exec", ["exec", "web-1", "--", "sh"], {}, /flag -- is not allowed|verb "exec" is not allowed/],
      ["no verb", [], {}, /no verb given/],
      ["a flag before the verb", ["-n", "default", "get", "pods"], {}, /put the verb first/],
      [
        "a flag before the verb that would swallow it (issue 17)",
        ["-p", "get", "patch", "secret", "db", "-n", "vfy", "-p", "{}", "-o", "jsonpath={.data.password}"],
        {},
        /put the verb first/,
      ],
      ["set env (issue 17)", ["set", "env", "deploy/web", "A=1"], {}, /verb "set" is not allowed/],
      ["cluster-info dump (issue 17)", ["cluster-info", "dump"], {}, /verb "cluster-info" is not allowed/],
      [
        "version -n off the namespace list (issue 17)",
        ["version", "-n", "other"],
        { namespaces: ["shop"] },
        /namespace "other" is not allowed; allowed namespaces: shop/,
      ],
      [
        "api-resources -n off the namespace list (issue 17)",
        ["api-resources", "--namespace=other"],
        { namespaces: ["shop"] },
        /namespace "other" is not allowed/,
      ],
      [
        "--all-namespaces with a namespace list",
        ["get", "pods", "--all-namespaces", "-n", "shop"],
        { namespaces: ["shop"] },
        /--all-namespaces is not allowed; allowed namespaces: shop/,
      ],
      [
        "logs <pod> off the resource list",
        ["logs", "web-1", "-n", "shop"],
        { resources: ["deployments"] },
        /resource "pods" is not allowed; allowed resources: deployments/,
      ],
      [
        "logs <pod> with pods denied",
        ["logs", "web-1", "-n", "shop"],
        { deniedResources: ["pods"] },
        /resource "pods" is always refused \(deniedResources: pods\)/,
      ],
      [
        "-o jsonx: the output allow-list is anchored",
        ["get", "pods", "-o", "jsonx"],
        {},
        /output "jsonx" is not allowed/,
      ],
      [
        "-o xyaml: the output allow-list is anchored",
        ["get", "pods", "-o", "xyaml"],
        {},
        /output "xyaml" is not allowed/,
      ],
      [
        "-p outside logs",
        ["get", "pods", "-p", "{}"],
        {},
        /flag -p is not on the kubectl executor's allow-list for "kubectl get"/,
      ],
      [
        "describe sa while secrets are denied",
        ["describe", "sa", "default"],
        {},
        /resource "secrets" \(read by "kubectl describe" for serviceaccounts\) is always refused/,
      ],
      [
        "--kubeconfig",
        ["get", "pods", "--kubeconfig", "/etc/other"],
        {},
        /flag --kubeconfig is not allowed: changes the identity/,
      ],
      [
        "--kubeconfig=…",
        ["get", "pods", "--kubeconfig=/tmp/evil"],
        {},
        /flag --kubeconfig is not allowed: changes the identity/,
      ],
      [
        "--server",
        ["get", "pods", "--server=https://evil:6443"],
        {},
        /flag --server is not allowed: changes the identity/,
      ],
      ["-s", ["get", "pods", "-s", "https://evil:6443"], {}, /flag -s is not allowed: changes the identity/],
      ["--token", ["get", "pods", "--token=abc"], {}, /flag --token is not allowed: changes the identity/],
      [
        "--as",
        ["get", "secrets", "--as", "system:admin"],
        {},
        /flag --as is not allowed: changes the identity/,
      ],
      [
        "--as-group",
        ["get", "pods", "--as-group=system:masters"],
        {},
        /flag --as-group is not allowed: changes the identity/,
      ],
      [
        "--context",
        ["get", "pods", "--context", "prod"],
        {},
        /flag --context is not allowed: changes the identity/,
      ],
      [
        "--insecure-skip-tls-verify",
        ["get", "pods", "--insecure-skip-tls-verify"],
        {},
        /changes the identity/,
      ],
      ["--watch", ["get", "pods", "-w"], {}, /watching never ends/],
      ["--follow", ["logs", "web-1", "-f"], {}, /not allowed/],
      ["--raw", ["get", "--raw", "/api/v1/secrets"], {}, /bypass the resource allow-list/],
      ["-v=9", ["get", "pods", "-v=9"], {}, /verbose logs can print credentials/],
      [
        "an unknown flag",
        ["get", "pods", "--overrides={}"],
        {},
        /flag --overrides is not on the kubectl executor's allow-list/,
      ],
      ["-o jsonpath-file=", ["get", "pods", "-o", "jsonpath-file=/etc/passwd"], {}, /file-reading formats/],
      [
        "-o templatefile=",
        ["get", "cm", "-o", "templatefile=/etc/passwd"],
        {},
        /"templatefile=\/etc\/passwd" is not allowed/,
      ],
      ["--output=templatefile=", ["get", "cm", "--output=templatefile=/etc/passwd"], {}, /is not allowed/],
      [
        "-o custom-columns-file=",
        ["get", "cm", "-o", "custom-columns-file=/etc/passwd"],
        {},
        /is not allowed/,
      ],
      ["-o go-template-file=", ["get", "cm", "-o", "go-template-file=/etc/passwd"], {}, /is not allowed/],
      [
        "-o templatefile --template",
        ["get", "cm", "-o", "templatefile", "--template", "/etc/passwd"],
        {},
        /is not allowed/,
      ],
      [
        "logs -l for a list without pods",
        ["logs", "-l", "app=web"],
        { resources: ["deployments"] },
        /resource "pods" is not allowed/,
      ],
      ["a value flag without a value", ["get", "pods", "-n"], {}, /flag -n needs a value/],
      [
        "a flag smuggled as a value",
        ["get", "pods", "-l", "--kubeconfig=/tmp/evil"],
        {},
        /flag -l needs a value, not the flag-like/,
      ],
      [
        "a resource off the list",
        ["get", "configmaps"],
        { resources: ["pods", "deployments"] },
        /resource "configmaps" is not allowed; allowed resources: pods, deployments/,
      ],
      [
        "a listed resource beside one off it",
        ["get", "po,cm"],
        { resources: ["pods"] },
        /resource "configmaps" is not allowed/,
      ],
      [
        "TYPE/NAME off the list",
        ["describe", "cm/db"],
        { resources: ["pods"] },
        /resource "configmaps" is not allowed/,
      ],
      ...(
        [
          ["get", "secret"],
          ["get", "secrets"],
          ["get", "Secrets", "-o", "yaml"],
          ["get", "secret/x"],
          ["get", "secret/x", "pod/y"],
          ["get", "pods,secrets", "-o", "yaml"],
          ["get", "pods,secret/db"],
          ["logs", "pods,secret/db"],
          ["get", "secrets.v1.", "-A"],
          ["describe", "secret", "db"],
          ["get", "secret", "db", "-n", "shop", "-o", "jsonpath={.data}"],
        ] as const
      ).map((args): [string, string[], object, RegExp] => [
        `secrets by default: ${args.join(" ")}`,
        [...args],
        {},
        /resource "secrets" is always refused \(deniedResources: secrets\) so that its data is never printed/,
      ]),
      [
        "secrets even when resources lists them",
        ["get", "secrets"],
        { resources: ["pods", "secrets"] },
        /resource "secrets" is always refused/,
      ],
      [
        "a custom denied resource, named by short name",
        ["get", "configmap/settings", "-o", "yaml"],
        { deniedResources: ["cm"] },
        /resource "configmaps" is always refused \(deniedResources: cm\)/,
      ],
      [
        "a namespace off the list",
        ["get", "pods", "-n", "kube-system"],
        { namespaces: ["shop"] },
        /namespace "kube-system" is not allowed/,
      ],
      [
        "--namespace= off the list",
        ["get", "pods", "--namespace=kube-system"],
        { namespaces: ["shop"] },
        /namespace "kube-system"/,
      ],
      [
        "-A with a namespace list",
        ["get", "pods", "-A"],
        { namespaces: ["shop"] },
        /--all-namespaces is not allowed/,
      ],
      [
        "no namespace with a list and no default",
        ["get", "pods"],
        { namespaces: ["shop"] },
        /name a namespace with -n/,
      ],
      ["; injection", ["get", "pods;", "rm", "-rf", "/"], {}, /shell metacharacter/],
      ["$( ) injection", ["get", "pods", "-l", "app=$(id)"], {}, /shell metacharacter/],
      ["backtick injection", ["get", "`id`"], {}, /shell metacharacter/],
      ["newline injection", ["get", "pods\nrm -rf /"], {}, /shell metacharacter/],
      ["pipe", ["get", "pods", "|", "sh"], {}, /shell metacharacter/],
      ["redirect", ["get", "pods", ">", "/tmp/x"], {}, /shell metacharacter/],
      ["&& chaining", ["version", "&&", "id"], {}, /shell metacharacter/],
      ["${} expansion", ["get", "${HOME}"], {}, /shell metacharacter/],
    ];
    for (const [what, args, config, reason] of refused) {
      it(what, async () => {
        const before = invocations().length;
        const answer = await run(args, { kubectlPath: recorder, ...config });
        assert.equal(
          answer.errorCode,
          ExecuteErrorCode.EXECUTE_ERROR_CODE_FORBIDDEN,
          `${what}: ${answer.output}`,
        );
        assert.match(answer.errorMessage, reason);
        assert.equal(answer.output, "");
        assert.deepEqual(invocations().slice(before), [], `${what} must not run kubectl`);
      });
    }
  });

  it("trims a huge output to maxOutputBytes and says so", async () => {
    const answer = await run(["get", "pods"], { kubectlPath: chatty, maxOutputBytes: 1000 });
    assert.equal(answer.errorCode, ExecuteErrorCode.EXECUTE_ERROR_CODE_OK);
    assert.ok(answer.output.startsWith("x".repeat(1000)));
    assert.match(answer.output, /output trimmed to 1000 bytes \(300000 bytes in all\)/);
  });

  it("answers a failing kubectl with `failed` and its stderr", async () => {
    const answer = await run(["get", "pods", "nope"], { kubectlPath: failing });
    assert.equal(answer.errorCode, ExecuteErrorCode.EXECUTE_ERROR_CODE_FAILED);
    assert.match(answer.output, /pods "nope" not found/);
  });

  it("stops kubectl at the configured timeout", async () => {
    const started = Date.now();
    const answer = await run(["get", "pods"], { kubectlPath: slow, timeoutSeconds: 0.3 });
    assert.equal(answer.errorCode, ExecuteErrorCode.EXECUTE_ERROR_CODE_TIMEOUT);
    assert.match(answer.errorMessage, /longer than 0.3s and was stopped/);
    assert.equal(answer.output, "starting\n");
    assert.ok(Date.now() - started < 5000);
  });

  it("stops kubectl when the caller's deadline passes", async () => {
    await assert.rejects(run(["get", "pods"], { kubectlPath: slow }, 300), {
      code: grpc.status.DEADLINE_EXCEEDED,
    });
    // The plugin is still serving, and the slow kubectl is not holding it up.
    const answer = await run(["version", "--client", "-o", "json"]);
    assert.equal(answer.errorCode, ExecuteErrorCode.EXECUTE_ERROR_CODE_OK);
  });

  it("bounds concurrent kubectl processes: 100 commands at once, at most maxConcurrent run, the excess is told why at once", async () => {
    const limits = { kubectlPath: counted, maxConcurrent: 4, maxQueued: 8 };
    const started = Date.now();
    // Each answer with the time it came: a command turned away must not have waited for a slot.
    const answers = await Promise.allSettled(
      Array.from({ length: 100 }, () =>
        run(["get", "pods"], limits, 30_000).then(
          (answer) => ({ answer, ms: Date.now() - started }),
          (err: grpc.ServiceError) => Promise.reject(Object.assign(err, { ms: Date.now() - started })),
        ),
      ),
    );
    const ran = answers.filter((a) => a.status === "fulfilled");
    const busy = answers.filter((a) => a.status === "rejected");
    for (const { value } of ran) {
      assert.equal(value.answer.errorCode, ExecuteErrorCode.EXECUTE_ERROR_CODE_OK, value.answer.errorMessage);
    }
    assert.ok(ran.length >= 12, `only ${ran.length} ran`);
    assert.ok(busy.length >= 50, `only ${busy.length} were turned away`);
    for (const { reason } of busy as PromiseRejectedResult[]) {
      const err = reason as grpc.ServiceError & { ms: number };
      assert.equal(err.code, grpc.status.UNAVAILABLE, err.message);
      assert.match(
        err.details,
        /^the kubectl executor is at its limit: 4 kubectl processes running \(maxConcurrent 4\) and 8 commands waiting \(maxQueued 8\); try again shortly$/,
      );
      assert.ok(err.ms < 900, `turned away after ${err.ms} ms, not at once`);
    }
    // The processes never overlapped more than maxConcurrent deep.
    let running = 0;
    let most = 0;
    const events = readFileSync(concurrencyLog, "utf8").split("\n").filter(Boolean);
    for (const event of events) {
      running += event.startsWith("start") ? 1 : -1;
      most = Math.max(most, running);
    }
    assert.equal(events.length, 2 * ran.length);
    assert.equal(most, 4);
    // Still healthy and serving.
    const answer = await run(["version", "--client", "-o", "json"]);
    assert.equal(answer.errorCode, ExecuteErrorCode.EXECUTE_ERROR_CODE_OK, answer.errorMessage);
  });

  it("says so when kubectl cannot be found", async () => {
    const answer = await run(["version"], { kubectlPath: join(dir, "no-such-kubectl") });
    assert.equal(answer.errorCode, ExecuteErrorCode.EXECUTE_ERROR_CODE_FAILED);
    assert.match(answer.errorMessage, /kubectl could not be started: .*no-such-kubectl not found/);
  });

  it("describes the allowed verbs, resources and namespaces in Help", async () => {
    const help = await unary<HelpResponse>((m, o, cb) =>
      client.help({ configJson: JSON.stringify({ resources: ["pods"], namespaces: ["shop"] }) }, m, o, cb),
    );
    assert.match(help.text, /Verbs: get, describe, logs, top, explain, api-resources, api-versions, version/);
    assert.match(help.text, /Resources: pods \(never secrets\)\./);
    assert.match(help.text, /Namespaces: shop/);
  });

  it("rejects a bad config with INVALID_ARGUMENT naming the field", async () => {
    for (const [config, problem] of [
      [{ verbs: ["get; rm"] }, /config\.verbs\.0 must be equal to one of the allowed values/],
      // Only verbs whose grammar the executor knows: a write verb cannot be switched on by config.
      [{ verbs: ["get", "delete"] }, /config\.verbs\.1 must be equal to one of the allowed values/],
      [{ maxConcurrent: 0 }, /config\.maxConcurrent must be >= 1/],
      [{ maxQueued: -1 }, /config\.maxQueued must be >= 0/],
      [{ maxOutputBytes: 10 }, /config\.maxOutputBytes must be >= 256/],
      [{ timeoutSeconds: 0 }, /config\.timeoutSeconds must be > 0/],
      [{ kubectl: "x" }, /unknown property 'kubectl'/],
      [{ deniedResources: ["Secrets"] }, /config\.deniedResources\.0 must match pattern/],
    ] as const) {
      await assert.rejects(run(["version"], config), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
        assert.match(err.details, problem);
        return true;
      });
    }
  });
});

describe("kubectl executor against the Kubernetes API test double", () => {
  let api: KubeApiDouble;
  let plugin: StartedPlugin;
  let client: ExecutorClient;
  // Its own HOME, so kubectl's discovery cache (~/.kube/cache) belongs to this double alone.
  const home = mkdtempSync(join(tmpdir(), "patchbay-kubectl-home-"));
  before(async () => {
    api = await startKubeApiDouble();
    api.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } });
    const pod = (name: string, namespace: string) =>
      api.create({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace, labels: { app: name.split("-")[0]! } },
        spec: { containers: [{ name: "main", image: "nginx:1.27" }] },
        status: { phase: "Running", containerStatuses: [{ name: "main", ready: true, restartCount: 0 }] },
      });
    pod("web-1", "shop");
    pod("web-2", "shop");
    pod("coredns-1", "kube-system");
    api.create({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: "shop", labels: { app: "web" } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: { containers: [{ name: "main", image: "nginx:1.27" }] },
        },
      },
    });
    api.create({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "settings", namespace: "shop" },
      data: { mode: "fast" },
    });
    api.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "db", namespace: "shop" },
      data: { password: Buffer.from("hunter2").toString("base64") },
    });
    // As in a local run: the plugin process has KUBECONFIG (in a Pod, the ServiceAccount token instead),
    // and the kubectl it starts inherits its environment.
    plugin = await startPlugin("plugins/kubectl/main.ts", {
      env: { KUBECONFIG: await api.writeKubeconfig(), HOME: home },
    });
    client = executorClient(plugin.address);
  });
  after(async () => {
    client?.close();
    await plugin?.stop("SIGKILL");
    await api?.close();
    rmSync(home, { recursive: true, force: true });
  });

  async function ok(args: string[], config: object = {}): Promise<string> {
    const answer = await execute(client, args, config, 20_000);
    assert.equal(
      answer.errorCode,
      ExecuteErrorCode.EXECUTE_ERROR_CODE_OK,
      `${args.join(" ")}: ${answer.errorMessage}\n${answer.output}`,
    );
    return answer.output;
  }
  /** The API paths (no query string) the double served since the last clearRequests. */
  const paths = () => api.requests.map((r) => `${r.method} ${r.path}`);

  it("get pods -n <ns> lists that namespace's pods as kubectl's table", async () => {
    api.clearRequests();
    const table = await ok(["get", "pods", "-n", "shop"]);
    assert.match(table, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\n/);
    assert.match(table, /^web-1\s+1\/1\s+Running\s+0\s+\d+s$/m);
    assert.match(table, /^web-2\s+1\/1\s+Running/m);
    assert.doesNotMatch(table, /coredns/);
    assert.ok(paths().includes("GET /api/v1/namespaces/shop/pods"), paths().join("\n"));
  });

  it("get pods -o jsonpath=… prints exactly the selected fields", async () => {
    assert.equal(
      await ok(["get", "pods", "-n", "shop", "-o", "jsonpath={.items[*].metadata.name}"]),
      "web-1 web-2",
    );
    assert.equal(
      await ok([
        "get",
        "po",
        "-n",
        "shop",
        "-l",
        "app=web",
        "-o",
        "jsonpath={.items[0].spec.containers[0].image}",
      ]),
      "nginx:1.27",
    );
  });

  it("get deploy/<name> -o yaml and describe show the Deployment", async () => {
    const yaml = await ok(["get", "deploy/web", "-n", "shop", "-o", "yaml"]);
    assert.match(yaml, /^kind: Deployment$/m);
    assert.match(yaml, /^ {2}name: web$/m);
    assert.match(yaml, /^ {2}replicas: 2$/m);
    assert.match(yaml, /- image: nginx:1\.27/);
    const described = await ok(["describe", "deployment", "web", "-n", "shop"]);
    assert.match(described, /^Name:\s+web$/m);
    assert.match(described, /^Namespace:\s+shop$/m);
    assert.match(described, /^Replicas:\s+2 desired/m);
  });

  it("api-resources lists what the server serves", async () => {
    const resources = await ok(["api-resources"]);
    assert.match(resources, /^NAME\s+SHORTNAMES\s+APIVERSION\s+NAMESPACED\s+KIND$/m);
    assert.match(resources, /^pods\s+po\s+v1\s+true\s+Pod$/m);
    assert.match(resources, /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
  });

  it("adds defaultNamespace when the command names none", async () => {
    assert.equal(
      await ok(["get", "pods", "-o", "name"], { namespaces: ["shop"], defaultNamespace: "shop" }),
      "pod/web-1\npod/web-2\n",
    );
  });

  it("prints Secret data only after deniedResources is emptied", async () => {
    assert.equal(
      await ok(["get", "secret", "db", "-n", "shop", "-o", "jsonpath={.data.password}"], {
        deniedResources: [],
      }),
      Buffer.from("hunter2").toString("base64"),
    );
  });

  describe("refuses before kubectl sends a single request; the same command allowed does reach the server", () => {
    // [what, args, refusing config, reason, allowing config, endpoint the allowed command reads, its output]
    const cases: [string, string[], object, RegExp, object, string, RegExp][] = [
      [
        "secrets by default",
        ["get", "secrets", "-n", "shop", "-o", "yaml"],
        {},
        /resource "secrets" is always refused/,
        { deniedResources: [] },
        "GET /api/v1/namespaces/shop/secrets",
        /^ {4}password: aHVudGVyMg==$/m,
      ],
      [
        "secrets listed beside pods by default",
        ["get", "pods,secrets", "-n", "shop"],
        {},
        /resource "secrets" is always refused/,
        { deniedResources: [] },
        "GET /api/v1/namespaces/shop/pods",
        /^secret\/db\s/m,
      ],
      [
        "a resource off the allow-list",
        ["get", "configmaps", "-n", "shop"],
        { resources: ["pods", "deployments"] },
        /resource "configmaps" is not allowed; allowed resources: pods, deployments/,
        {},
        "GET /api/v1/namespaces/shop/configmaps",
        /^settings\s/m,
      ],
      [
        "a namespace off the allow-list",
        ["get", "pods", "-n", "kube-system"],
        { namespaces: ["shop"] },
        /namespace "kube-system" is not allowed; allowed namespaces: shop/,
        {},
        "GET /api/v1/namespaces/kube-system/pods",
        /^coredns-1\s/m,
      ],
      [
        "-A with a namespace allow-list",
        ["get", "pods", "-A"],
        { namespaces: ["shop"] },
        /--all-namespaces is not allowed/,
        {},
        "GET /api/v1/pods",
        /^kube-system\s+coredns-1\s/m,
      ],
    ];
    for (const [what, args, config, reason, allowing, path, shown] of cases) {
      it(what, async () => {
        api.clearRequests();
        const refused = await execute(client, args, config, 20_000);
        assert.equal(refused.errorCode, ExecuteErrorCode.EXECUTE_ERROR_CODE_FORBIDDEN, refused.output);
        assert.match(refused.errorMessage, reason);
        assert.equal(refused.output, "");
        assert.deepEqual(paths(), [], `${what}: kubectl must not have talked to the server`);

        // The control: allowed, the very same arguments make the real kubectl hit that endpoint.
        const output = await ok(args, allowing);
        assert.ok(paths().includes(path), `${what}: expected ${path} in\n${paths().join("\n")}`);
        assert.match(output, shown);
      });
    }
  });
});
