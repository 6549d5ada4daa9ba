/**
 * client-node 2.x opens a new connection for every request unless its dispatcher is shared; a real
 * HTTP server counts the TCP connections twenty reads arrive on.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, it } from "node:test";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { reuseConnections } from "../../src/controller/index.ts";

let server: Server;
let connections = 0;

before(async () => {
  server = createServer((_request, response) => {
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a" } }));
  });
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
});

after(() => {
  server.closeAllConnections();
  server.close();
});

function kubeConfig(): KubeConfig {
  const config = new KubeConfig();
  const { port } = server.address() as AddressInfo;
  config.loadFromOptions({
    clusters: [{ name: "c", server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: "u", token: "t" }],
    contexts: [{ name: "c", cluster: "c", user: "u" }],
    currentContext: "c",
  });
  return config;
}

async function connectionsFor(config: KubeConfig, reads: number): Promise<number> {
  const api = config.makeApiClient(CoreV1Api);
  const before = connections;
  for (let i = 0; i < reads; i++)
    assert.equal((await api.readNamespace({ name: "team-a" })).metadata?.name, "team-a");
  return connections - before;
}

it("as shipped, client-node opens a connection per request (what reuseConnections is for)", async () => {
  assert.equal(await connectionsFor(kubeConfig(), 20), 20);
});

it("with reuseConnections, reads share a pool of keep-alive connections that does not grow with them", async () => {
  const config = reuseConnections(kubeConfig());
  assert.equal(reuseConnections(config), config, "idempotent");
  // undici may open a second socket while the first response is still being consumed; then both stay.
  assert.ok((await connectionsFor(config, 20)) <= 2);
  assert.equal(await connectionsFor(config, 40), 0, "the next 40 reads open no connection at all");
});
