/**
 * The kubectl executor acting as the person who asked: the real kubectl, run by the real plugin process,
 * against the Kubernetes API test double, whose request log shows the Impersonate-* headers kubectl sent.
 * The identity comes only from the execute context the host fills; typed identity flags never run.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  ExecuteErrorCode,
  type ExecuteResponse,
  type ExecutorClient,
  type KubernetesImpersonation,
} from "@patchbay/sdk/protocol";
import { startKubeApiDouble, type KubeApiDouble } from "../../test/support/kube-api/index.ts";
import { executorClient, startPlugin, unary, type StartedPlugin } from "../testing/index.ts";

const alice: KubernetesImpersonation = { user: "alice@example.com", groups: ["sre", "viewers"] };

describe("kubectl executor impersonating the mapped Kubernetes identity", () => {
  let api: KubeApiDouble;
  let plugin: StartedPlugin;
  let client: ExecutorClient;
  const home = mkdtempSync(join(tmpdir(), "patchbay-kubectl-as-"));
  before(async () => {
    api = await startKubeApiDouble({ namespaces: ["default", "shop"] });
    api.create({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "web-1", namespace: "shop" },
      spec: { containers: [{ name: "main", image: "nginx:1.27" }] },
    });
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

  /** `kubectl <args>` as the hub sends it, for a chat user the host mapped to `impersonation`. */
  function execute(args: string[], impersonation?: KubernetesImpersonation): Promise<ExecuteResponse> {
    return unary<ExecuteResponse>(
      (metadata, options, callback) =>
        client.execute(
          {
            command: ["kubectl", ...args].join(" "),
            args: ["kubectl", ...args],
            prefix: "kubectl",
            configJson: "{}",
            context: {
              executorName: "kubectl",
              user: "U099XYZ",
              notifier: "ops",
              channel: "C1",
              impersonation,
            },
          },
          metadata,
          options,
          callback,
        ),
      20_000,
    );
  }
  const impersonated = () =>
    api.requests.map((r) => ({
      request: `${r.method} ${r.path}`,
      user: r.headers["impersonate-user"],
      groups: r.headers["impersonate-group"],
    }));

  it("sends Impersonate-User and one Impersonate-Group per group on every request", async () => {
    api.clearRequests();
    const answer = await execute(["get", "pods", "-n", "shop", "-o", "name"], alice);
    assert.equal(answer.errorCode, ExecuteErrorCode.EXECUTE_ERROR_CODE_OK, answer.errorMessage);
    assert.equal(answer.output, "pod/web-1\n");
    const requests = impersonated();
    assert.ok(
      requests.some((r) => r.request === "GET /api/v1/namespaces/shop/pods"),
      JSON.stringify(requests),
    );
    for (const request of requests) {
      assert.deepEqual(request.user, ["alice@example.com"], request.request);
      assert.deepEqual(request.groups, ["sre", "viewers"], request.request);
    }
  });

  it("sends no Impersonate headers for a person mapped to no Kubernetes identity", async () => {
    api.clearRequests();
    const answer = await execute(["get", "pods", "-n", "shop", "-o", "name"]);
    assert.equal(answer.errorCode, ExecuteErrorCode.EXECUTE_ERROR_CODE_OK, answer.errorMessage);
    assert.ok(api.requests.length > 0);
    for (const request of api.requests) {
      assert.deepEqual(
        Object.keys(request.headers).filter((name) => name.startsWith("impersonate-")),
        [],
        request.path,
      );
    }
  });

  it("refuses identity flags typed in the command, whatever the mapping, before kubectl sends anything", async () => {
    const typed: string[][] = [
      ["get", "pods", "-n", "shop", "--as=admin"],
      ["get", "pods", "-n", "shop", "--as", "admin"],
      ["get", "pods", "-n", "shop", "--as-group=system:masters"],
      ["get", "pods", "-n", "shop", "--as-uid=0"],
      ["get", "pods", "-n", "shop", "--kubeconfig=/tmp/admin"],
      ["get", "pods", "-n", "shop", "--context", "admin"],
      ["get", "pods", "-n", "shop", "--user=admin"],
      ["get", "pods", "-n", "shop", "--token=abc"],
    ];
    for (const mapping of [alice, undefined]) {
      for (const args of typed) {
        api.clearRequests();
        const answer = await execute(args, mapping);
        assert.equal(answer.errorCode, ExecuteErrorCode.EXECUTE_ERROR_CODE_FORBIDDEN, args.join(" "));
        assert.match(
          answer.errorMessage,
          /is not allowed: changes the identity or the cluster kubectl talks to/,
        );
        assert.deepEqual(api.requests, [], `${args.join(" ")} reached the API server`);
      }
    }
  });

  it("lets the cluster's RBAC refuse an impersonated user it does not allow", async () => {
    api.forbidImpersonatedUser("bob@example.com");
    const refused = await execute(["get", "pods", "-n", "shop"], { user: "bob@example.com", groups: [] });
    assert.equal(refused.errorCode, ExecuteErrorCode.EXECUTE_ERROR_CODE_FAILED);
    assert.match(
      refused.output,
      /Error from server \(Forbidden\): pods is forbidden: User "bob@example\.com" cannot list resource "pods" in API group "" in the namespace "shop"/,
    );
    // The same command as alice is served.
    const allowed = await execute(["get", "pods", "-n", "shop", "-o", "name"], alice);
    assert.equal(allowed.output, "pod/web-1\n");
  });

  it("refuses an empty user or group from the host rather than impersonating nobody", async () => {
    api.clearRequests();
    for (const mapping of [
      { user: "", groups: ["sre"] },
      { user: "alice@example.com", groups: [""] },
    ]) {
      const answer = await execute(["get", "pods", "-n", "shop"], mapping);
      assert.equal(answer.errorCode, ExecuteErrorCode.EXECUTE_ERROR_CODE_INVALID_ARGUMENT);
      assert.match(answer.errorMessage, /empty Kubernetes user or group/);
    }
    assert.deepEqual(api.requests, []);
  });
});
