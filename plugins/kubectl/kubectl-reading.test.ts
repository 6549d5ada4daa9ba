/**
 * The policy's reading of the arguments against the REAL kubectl's: its flag tables against
 * `kubectl <command> --help`, and a property test that runs every generated command the policy allows
 * against the Kubernetes API test double and checks, in the double's request log, that kubectl sent
 * only reads of the resources and namespaces the policy believed it allowed.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import {
  startKubeApiDouble,
  type KubeApiDouble,
  type RequestLogEntry,
} from "../../test/support/kube-api/index.ts";
import {
  canonicalResource,
  checkCommand,
  commandFlags,
  GLOBAL_FLAGS,
  Refusal,
  type CheckedCommand,
  type FlagSpec,
  type KubectlPolicy,
} from "./policy.ts";

const execFileAsync = promisify(execFile);

/** kubectl's own list of a command's flags: long name → { shorthand, boolean }. */
async function helpFlags(args: string[]): Promise<Map<string, { short?: string; boolean: boolean }>> {
  const { stdout } = await execFileAsync("kubectl", args, {
    env: { ...process.env, KUBECONFIG: "/dev/null" },
  });
  const flags = new Map<string, { short?: string; boolean: boolean }>();
  for (const match of stdout.matchAll(/^ {4}(?:-(\w), )?--([\w-]+)=(.*):$/gm)) {
    flags.set(match[2]!, { short: match[1], boolean: match[3] === "true" || match[3] === "false" });
  }
  return flags;
}

describe("the policy's flag tables agree with kubectl's own help", () => {
  const agree = (
    listed: Map<string, { short?: string; boolean: boolean }>,
    flags: readonly FlagSpec[],
    what: string,
  ) => {
    for (const flag of flags) {
      const help = listed.get(flag.name);
      assert.ok(help, `${what}: kubectl does not list --${flag.name}`);
      assert.equal(help.boolean, flag.arity === "boolean", `${what}: arity of --${flag.name}`);
      assert.equal(help.short, flag.short, `${what}: shorthand of --${flag.name}`);
    }
  };
  for (const [command, flags] of commandFlags()) {
    it(`kubectl ${command}`, async () => {
      const listed = await helpFlags([...command.split(" "), "--help"]);
      assert.ok(listed.size > 0 || flags.length === 0, `no flags parsed from kubectl ${command} --help`);
      agree(listed, flags, command);
    });
  }
  it("the global flags (kubectl options)", async () => {
    const listed = await helpFlags(["options"]);
    // --help is cobra's, on every command rather than in `kubectl options`.
    agree(
      listed,
      GLOBAL_FLAGS.filter((flag) => flag.name !== "help"),
      "options",
    );
    assert.deepEqual(
      GLOBAL_FLAGS.map((flag) => flag.name),
      ["namespace", "request-timeout", "help"],
    );
  });
});

describe("what the real kubectl sends for commands the policy allows", () => {
  let api: KubeApiDouble;
  let kubeconfig: string;
  const home = mkdtempSync(join(tmpdir(), "patchbay-kubectl-reading-"));
  before(async () => {
    api = await startKubeApiDouble({ namespaces: ["default", "kube-system", "shop", "other"] });
    for (const namespace of ["shop", "other", "default"]) {
      api.create({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "web-1", namespace, labels: { app: "web" } },
        spec: { containers: [{ name: "main", image: "nginx:1.27" }] },
      });
      api.create({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "db", namespace },
        data: { password: Buffer.from("hunter2").toString("base64") },
      });
      api.create({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "settings", namespace },
        data: { a: "b" },
      });
      api.create({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "robot", namespace } });
      api.create({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web", namespace },
        spec: {
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: { containers: [{ name: "main", image: "nginx" }] },
          },
        },
      });
    }
    kubeconfig = await api.writeKubeconfig();
  });
  after(async () => {
    await api?.close();
    rmSync(home, { recursive: true, force: true });
  });

  /** Runs the real kubectl with these arguments; resolves once it has exited, whatever its code. */
  async function kubectl(args: string[]): Promise<string> {
    try {
      const { stdout } = await execFileAsync("kubectl", args, {
        env: { PATH: process.env.PATH, HOME: home, KUBECONFIG: kubeconfig },
        timeout: 20_000,
      });
      return stdout;
    } catch (err) {
      const { killed, stderr } = err as { killed?: boolean; stderr?: string };
      assert.ok(!killed, `kubectl ${args.join(" ")} did not finish`);
      return stderr ?? "";
    }
  }

  // Resources that belong to no namespace (the rest the double serves are namespaced).
  const CLUSTER_SCOPED = new Set([
    "namespaces",
    "nodes",
    "customresourcedefinitions",
    "clusterroles",
    "clusterrolebindings",
  ]);

  /** What a request touched: a resource (in a namespace or across all), or discovery. */
  function readOf(
    request: RequestLogEntry,
  ): { resource: string; namespace?: string; name?: string } | "discovery" {
    const parts = request.path.split("/").filter(Boolean);
    const rest = parts[0] === "api" ? parts.slice(2) : parts[0] === "apis" ? parts.slice(3) : undefined;
    // /version, /api, /api/v1, /apis, /apis/<group>, /apis/<group>/<version>, /openapi/…
    if (rest === undefined || rest.length === 0) return "discovery";
    if (rest[0] === "namespaces" && rest.length >= 3) {
      return { resource: rest[2]!, namespace: rest[1], name: rest[3] };
    }
    return { resource: rest[0]!, name: rest[1] };
  }

  /** Asserts kubectl's requests were exactly reads the policy allowed for `checked`. */
  function assertOnlyAllowedReads(
    checked: CheckedCommand,
    policy: KubectlPolicy,
    requests: RequestLogEntry[],
  ) {
    const effectiveNamespace = checked.namespace ?? "default"; // the double's kubeconfig names none
    const denied = new Set(policy.deniedResources.map(canonicalResource));
    const what = `kubectl ${checked.args.join(" ")} (policy ${JSON.stringify(policy)})`;
    for (const request of requests) {
      const line = `${request.method} ${request.path}${request.query}`;
      assert.equal(request.method, "GET", `${what}: sent ${line}`);
      assert.ok(!request.watch, `${what}: watched with ${line}`);
      const read = readOf(request);
      if (read === "discovery") continue;
      assert.ok(!denied.has(read.resource), `${what}: read denied ${read.resource} with ${line}`);
      // Looking up the command's own Namespace object (kubectl logs does) reads nothing in it.
      const ownNamespace = read.resource === "namespaces" && read.name === effectiveNamespace;
      assert.ok(
        checked.reads.includes(read.resource) || ownNamespace,
        `${what}: read ${read.resource}, not among ${checked.reads.join(", ")}: ${line}`,
      );
      if (read.namespace !== undefined && !checked.allNamespaces) {
        assert.equal(
          read.namespace,
          effectiveNamespace,
          `${what}: read namespace ${read.namespace}: ${line}`,
        );
      } else if (read.namespace === undefined && !CLUSTER_SCOPED.has(read.resource)) {
        assert.ok(checked.allNamespaces, `${what}: read every namespace without -A: ${line}`);
      }
      if (policy.namespaces.length > 0) {
        assert.ok(!checked.allNamespaces, `${what}: -A allowed under a namespace list`);
        if (read.namespace !== undefined)
          assert.ok(policy.namespaces.includes(read.namespace), `${what}: ${line}`);
      }
    }
  }

  it("kubectl itself reads `-p get patch …` as patch: why a flag before the verb is refused", async () => {
    const args = ["-p", "get", "patch", "configmap", "settings", "-n", "shop", "-p", '{"data":{"a":"c"}}'];
    assert.throws(
      () => checkCommand(args, { verbs: ["get"], resources: [], deniedResources: [], namespaces: [] }),
      Refusal,
    );
    api.clearRequests();
    await kubectl(args);
    assert.ok(
      api.requests.some(
        (r) => r.method === "PATCH" && r.path === "/api/v1/namespaces/shop/configmaps/settings",
      ),
      api.requests.map((r) => `${r.method} ${r.path}`).join("\n"),
    );
  });

  it("every generated command the policy allows makes kubectl send only the reads it believed it allowed", async (t) => {
    const verbs = ["get", "describe", "logs", "top", "explain", "api-resources", "api-versions", "version"];
    const split = (words: string) => words.split(" ");
    // Words any command may get: verbs and sub-verbs where a name is expected, resources, names,
    // namespaces, the global flags in every spelling, and values that look like verbs or flags.
    const common = split(
      "get patch describe logs top pod node version api-resources set env cluster-info dump delete " +
        "pods po Pod secret secrets Secret secret/db secrets.v1. pods,secrets po,cm cm configmaps " +
        "configmap/settings deploy deploy/web deployment.apps sa sa/robot serviceaccounts all ns namespaces " +
        "svc events web-1 db settings robot shop other default true false main {} - " +
        "-n -nshop -nother -n=shop --namespace --namespace=other --namespace=shop -h --request-timeout 5s",
    );
    // Each command's own flags (and a few values for them), so that many generated commands are allowed.
    const own: Record<string, string[]> = {
      get: split(
        "-A --all-namespaces -A=false --all-namespaces=false -o json yaml name -ojson -oname -o=yaml " +
          "--output=jsonpath={.items[*].metadata.name} -Ao -l app=web -lapp=web --selector --show-labels " +
          "--show-labels=true --show-kind --no-headers -L app --field-selector metadata.name=db " +
          "--field-selector=metadata.name=settings -R --sort-by .metadata.name --chunk-size 1 --ignore-not-found",
      ),
      describe: split("-A --all-namespaces=false -l app=web -lapp=web --show-events=false -R --chunk-size 1"),
      logs: split(
        "-p --previous -c main --tail 5 --tail=1 --since 1h --timestamps --prefix -l app=web -lapp=web",
      ),
      top: split("pod node pods -A -l app=web --no-headers --containers --sum"),
      explain: split("--recursive --api-version v1 -o plaintext"),
      "api-resources": split(
        "--namespaced=false --namespaced --api-group apps --verbs list -o wide name --no-headers",
      ),
      "api-versions": [],
      version: split("--client -o json yaml"),
    };
    // Flags no command may have, and flags of one command given to another.
    const refusedWords = split(
      "--raw /api/v1/secrets -w -- -f -s --kubeconfig=/dev/null --as x --show_labels --watch -v=9 -p -A -c " +
        "--tail --client -o -Ap",
    );
    // Lists weighted towards the open ones, so that enough commands are allowed to run.
    const policies: fc.Arbitrary<KubectlPolicy> = fc.record({
      verbs: fc.constant(verbs),
      resources: fc.constantFrom<string[]>(
        [],
        [],
        [],
        ["pods", "configmaps", "deployments"],
        ["deploy"],
        ["sa", "pods"],
      ),
      deniedResources: fc.constantFrom<string[]>(
        ["secrets"],
        ["secrets"],
        ["secrets", "configmaps"],
        ["secrets", "pods"],
      ),
      namespaces: fc.constantFrom<string[]>([], [], ["shop"], ["shop", "default"]),
      defaultNamespace: fc.constantFrom(undefined, "shop", "shop", "other"),
    });
    const argLists = fc.oneof(
      // mostly a verb first, as a person types it
      {
        weight: 8,
        arbitrary: fc
          .constantFrom(...verbs)
          .chain((verb) =>
            fc
              .array(
                fc.oneof(
                  { weight: 6, arbitrary: fc.constantFrom(...common) },
                  { weight: 6, arbitrary: fc.constantFrom(...common, ...own[verb]!) },
                  { weight: 1, arbitrary: fc.constantFrom(...refusedWords) },
                ),
                { maxLength: 5 },
              )
              .map((rest) => [verb, ...rest]),
          ),
      },
      {
        weight: 1,
        arbitrary: fc.array(fc.constantFrom(...common, ...refusedWords), { minLength: 1, maxLength: 6 }),
      },
    );
    let allowed = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(argLists, policies, async (args, policy) => {
        let checked: CheckedCommand;
        try {
          checked = checkCommand(args, policy);
        } catch (err) {
          if (!(err instanceof Refusal)) throw err;
          refused++;
          return;
        }
        allowed++;
        api.clearRequests();
        await kubectl(checked.args);
        assertOnlyAllowedReads(checked, policy, [...api.requests]);
      }),
      { numRuns: 1000, seed: Number(process.env.KUBECTL_PROPERTY_SEED ?? Date.now() % 2 ** 31) },
    );
    t.diagnostic(`${allowed} commands allowed and run, ${refused} refused`);
    // The generator must keep exercising both sides.
    assert.ok(allowed >= 150, `only ${allowed} of ${allowed + refused} generated commands were allowed`);
    assert.ok(refused >= 200, `only ${refused} of ${allowed + refused} generated commands were refused`);
  });
});
