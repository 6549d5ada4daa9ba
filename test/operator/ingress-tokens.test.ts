/**
 * Issue 17, finding 6: in a cluster the ingress no longer answers anyone by default. The real
 * `patchbay operator` without tokens refuses /events, /sources and /commands with 503 and says how to
 * configure them (unless PATCHBAY_INGRESS_ALLOW_ANONYMOUS=true); the Secret the install names is created
 * with a random token when missing, and that token is then required.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { after, before, describe, it } from "node:test";
import type { V1Secret } from "@kubernetes/client-node";
import { Cluster, ingressTokens } from "../../src/operator/index.ts";
import type { KubeApiDouble } from "../support/kube-api/index.ts";
import { startOperatorProcess } from "../support/operator-process.ts";
import { startCluster } from "./harness.ts";

const NAMESPACE = "patchbay-system";
const SECRET = "patchbay-ingress-tokens";

let api: KubeApiDouble;
let kubeconfig: string;
const children: ChildProcess[] = [];

before(async () => {
  api = await startCluster();
  kubeconfig = await api.writeKubeconfig();
});

after(async () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  await api?.close();
});

const tokenSecret = () =>
  api.get({ apiVersion: "v1", kind: "Secret", name: SECRET, namespace: NAMESPACE }) as
    { data?: { tokens?: string } } | undefined;

describe("ingressTokens, against the API double", () => {
  it("creates the named Secret with one random token when it is missing, and reads it afterwards", async () => {
    const cluster = new Cluster(api.kubeConfig());
    const env = { PATCHBAY_INGRESS_TOKENS_SECRET: "fresh-tokens" };
    const [token] = await ingressTokens(cluster, NAMESPACE, env);
    assert.match(token ?? "", /^[A-Za-z0-9_-]{43}$/, "256 random bits, base64url");
    const stored = api.get({
      apiVersion: "v1",
      kind: "Secret",
      name: "fresh-tokens",
      namespace: NAMESPACE,
    }) as unknown as {
      data: { tokens: string };
    };
    assert.equal(Buffer.from(stored.data.tokens, "base64").toString("utf8").trim(), token);
    // A second replica (or a restart) reads the same token; nothing new is made.
    assert.deepEqual(await ingressTokens(cluster, NAMESPACE, env), [token]);
    assert.deepEqual(await ingressTokens(new Cluster(api.kubeConfig()), NAMESPACE, env), [token]);
  });

  it("when another replica creates it first (AlreadyExists), reads the one that replica wrote", async () => {
    const theirs: V1Secret = { data: { tokens: Buffer.from("their-token\n").toString("base64") } };
    const reads: (V1Secret | undefined)[] = [undefined, theirs];
    const created: V1Secret[] = [];
    const racing = {
      readSecret: async () => reads.shift(),
      createSecret: async (body: V1Secret) => {
        created.push(body);
        return undefined; // 409: theirs won
      },
    };
    assert.deepEqual(await ingressTokens(racing, NAMESPACE, { PATCHBAY_INGRESS_TOKENS_SECRET: SECRET }), [
      "their-token",
    ]);
    assert.equal(created.length, 1);
    assert.equal(created[0]!.metadata?.name, SECRET);
    assert.equal(created[0]!.metadata?.namespace, NAMESPACE);
  });
});

const startOperator = (env: Record<string, string>) =>
  // On every interface, as in a Pod.
  startOperatorProcess(kubeconfig, { PATCHBAY_HOST: "0.0.0.0", POD_NAMESPACE: NAMESPACE, ...env }, children, {
    readyTimeoutMs: 30_000,
  });

const command = (url: string, headers: Record<string, string> = {}) =>
  fetch(`${url}/commands`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ command: "help" }),
  });

describe("`patchbay operator` and ingress tokens", () => {
  it("without tokens refuses /commands, /events and /sources with 503 saying how to configure them; chat and health stay up", async () => {
    const operator = await startOperator({});
    try {
      for (const response of [
        await command(operator.ingress),
        await fetch(`${operator.ingress}/events`, {
          method: "POST",
          headers: { "content-type": "application/cloudevents+json" },
          body: JSON.stringify({ specversion: "1.0", id: "1", source: "x", type: "t" }),
        }),
        await fetch(`${operator.ingress}/sources/prometheus/alerts`, { method: "POST", body: "{}" }),
      ]) {
        assert.equal(response.status, 503, response.url);
        assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
        const { error } = (await response.json()) as { error: { code: string; message: string } };
        assert.equal(error.code, "ingress-tokens-required");
        assert.match(error.message, /set PATCHBAY_INGRESS_TOKENS or PATCHBAY_INGRESS_TOKENS_SECRET/);
        assert.match(error.message, /PATCHBAY_INGRESS_ALLOW_ANONYMOUS=true/);
      }
      // Chat endpoints verify the platform's own signature: they answer as before (no such notifier here).
      const chat = await fetch(`${operator.ingress}/chat/slack/nobody`, { method: "POST", body: "" });
      assert.equal(chat.status, 404);
      assert.equal(((await chat.json()) as { error: { code: string } }).error.code, "unknown-notifier");
      assert.equal((await fetch(`${operator.management}/healthz`)).status, 200);
      const logged = operator
        .stderr()
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as { level: string; message: string });
      assert.ok(
        logged.some((entry) => entry.level === "error" && /\/commands are refused/.test(entry.message)),
        "a loud log line says why",
      );
    } finally {
      await operator.stop();
    }
  });

  it("with PATCHBAY_INGRESS_ALLOW_ANONYMOUS=true answers anyone, as it used to", async () => {
    const operator = await startOperator({ PATCHBAY_INGRESS_ALLOW_ANONYMOUS: "true" });
    try {
      const response = await command(operator.ingress);
      assert.equal(response.status, 200, await response.clone().text());
      assert.equal(((await response.json()) as { status: string }).status, "ok");
    } finally {
      await operator.stop();
    }
  });

  it("with the install's PATCHBAY_INGRESS_TOKENS_SECRET: creates the Secret, and its token is required", async () => {
    assert.equal(tokenSecret(), undefined, "the Secret does not exist before the operator starts");
    const operator = await startOperator({ PATCHBAY_INGRESS_TOKENS_SECRET: SECRET });
    try {
      const encoded = tokenSecret()?.data?.tokens;
      assert.ok(encoded, "the operator created the Secret");
      const token = Buffer.from(encoded, "base64").toString("utf8").trim();
      assert.match(
        operator.stderr(),
        /kubectl get secret -n patchbay-system patchbay-ingress-tokens -o jsonpath/,
      );

      const anonymous = await command(operator.ingress);
      assert.equal(anonymous.status, 401);
      assert.equal(((await anonymous.json()) as { error: { code: string } }).error.code, "unauthenticated");
      const authorized = await command(operator.ingress, { authorization: `Bearer ${token}` });
      assert.equal(authorized.status, 200, await authorized.clone().text());
    } finally {
      await operator.stop();
    }
    // A restart reads the same Secret rather than making a new token.
    const again = await startOperator({ PATCHBAY_INGRESS_TOKENS_SECRET: SECRET });
    try {
      const token = Buffer.from(tokenSecret()!.data!.tokens!, "base64").toString("utf8").trim();
      const authorized = await command(again.ingress, { authorization: `Bearer ${token}` });
      assert.equal(authorized.status, 200);
    } finally {
      await again.stop();
    }
  });
});
