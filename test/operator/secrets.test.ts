import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Cluster, ingressTokens, KubernetesSecretResolver } from "../../src/operator/index.ts";
import type { KubeApiDouble, KubeObject } from "../support/kube-api/index.ts";
import { startCluster } from "./harness.ts";

describe("KubernetesSecretResolver and ingress tokens, against the API double", () => {
  let api: KubeApiDouble;
  let cluster: Cluster;

  before(async () => {
    api = await startCluster();
    cluster = new Cluster(api.kubeConfig());
    api.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "chat", namespace: "team-a" },
      data: { url: Buffer.from("https://hooks.example/x").toString("base64"), empty: "" },
    } as unknown as KubeObject);
    api.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "ingress", namespace: "patchbay-system" },
      data: { tokens: Buffer.from("one\ntwo,three\n").toString("base64") },
    } as unknown as KubeObject);
  });

  after(() => api?.close());

  it("reads a key of a Secret in the resource's namespace", async () => {
    const resolver = new KubernetesSecretResolver(cluster);
    assert.equal(
      await resolver.resolve({ secretKeyRef: { name: "chat", key: "url" } }, "team-a"),
      "https://hooks.example/x",
    );
  });

  it("names the Secret and key that are missing or empty, and the namespace it looked in", async () => {
    const resolver = new KubernetesSecretResolver(cluster);
    await assert.rejects(resolver.resolve({ secretKeyRef: { name: "chat", key: "token" } }, "team-a"), {
      message: "Secret team-a/chat has no key 'token'",
    });
    await assert.rejects(resolver.resolve({ secretKeyRef: { name: "chat", key: "empty" } }, "team-a"), {
      message: "Secret team-a/chat key 'empty' is empty",
    });
    await assert.rejects(resolver.resolve({ secretKeyRef: { name: "chat", key: "url" } }, "team-b"), {
      message: "Secret team-b/chat not found",
    });
  });

  it("resolves inline values, refuses two origins, and refuses env and file (the operator's own)", async () => {
    process.env.PATCHBAY_TEST_HOOK = "from-the-operator-environment";
    const resolver = new KubernetesSecretResolver(cluster);
    assert.equal(await resolver.resolve({ value: "inline" }, "team-a"), "inline");
    await assert.rejects(resolver.resolve({ env: "PATCHBAY_TEST_HOOK" }, "team-a"), {
      message:
        "env is for local runs only; in the cluster use secretKeyRef (or value for what is not secret)",
    });
    await assert.rejects(
      resolver.resolve({ file: "/var/run/secrets/kubernetes.io/serviceaccount/token" }, "team-a"),
      /^SecretResolutionError: file is for local runs only/,
    );
    await assert.rejects(
      resolver.resolve({ file: "x", secretKeyRef: { name: "chat", key: "url" } }, "team-a"),
      {
        message: /file is for local runs only/,
      },
    );
    await assert.rejects(
      resolver.resolve({ value: "a", secretKeyRef: { name: "chat", key: "url" } }, "team-a"),
      /exactly one/,
    );
  });

  it("takes ingress tokens from the environment and the named Secret", async () => {
    assert.deepEqual(await ingressTokens(cluster, "patchbay-system", { PATCHBAY_INGRESS_TOKENS: "a, b" }), [
      "a",
      "b",
    ]);
    assert.deepEqual(
      await ingressTokens(cluster, "patchbay-system", { PATCHBAY_INGRESS_TOKENS_SECRET: "ingress" }),
      ["one", "two", "three"],
    );
    // A named Secret that is missing is created with one random token (see ingress-tokens.test.ts).
    const created = await ingressTokens(cluster, "patchbay-system", {
      PATCHBAY_INGRESS_TOKENS_SECRET: "nope",
    });
    assert.equal(created.length, 1);
  });
});
