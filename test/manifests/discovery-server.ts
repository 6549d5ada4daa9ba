/**
 * A discovery-only stand-in for an API server, so the real `kubectl apply --dry-run=client` can map
 * kinds to resources offline. It serves legacy discovery (/api, /apis, resource lists) for the kinds it
 * is given and answers every object GET with 404 NotFound, as a server would for an empty cluster. It
 * has no OpenAPI document, so kubectl must run with --validate=false: schema validation is done by
 * src/api/schema-validator.ts instead. It is a double and nothing more: it stores and accepts nothing.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface ServedResource {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

export interface DiscoveryServer {
  url: string;
  /** A kubeconfig file pointing at the server. */
  kubeconfig: string;
  /** "METHOD path" of every request, in order. */
  requests: string[];
  close(): Promise<void>;
}

export async function startDiscoveryServer(resources: ServedResource[]): Promise<DiscoveryServer> {
  const requests: string[] = [];
  const groupVersions = new Map<string, ServedResource[]>();
  for (const resource of resources) {
    const key = resource.group ? `${resource.group}/${resource.version}` : resource.version;
    groupVersions.set(key, [...(groupVersions.get(key) ?? []), resource]);
  }
  const resourceList = (groupVersion: string) => ({
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion,
    resources: (groupVersions.get(groupVersion) ?? []).map((r) => ({
      name: r.plural,
      singularName: r.kind.toLowerCase(),
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
    })),
  });
  const groups = [...new Set(resources.filter((r) => r.group).map((r) => r.group))].map((name) => {
    const versions = [...new Set(resources.filter((r) => r.group === name).map((r) => r.version))].map(
      (version) => ({
        groupVersion: `${name}/${version}`,
        version,
      }),
    );
    return { name, versions, preferredVersion: versions[0] };
  });

  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
    requests.push(`${request.method} ${path}`);
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    };
    if (request.method === "GET" && path === "/api") {
      return send(200, { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [] });
    }
    if (request.method === "GET" && path === "/apis") {
      return send(200, { kind: "APIGroupList", apiVersion: "v1", groups });
    }
    const legacy = path.match(/^\/api\/(v1)$/);
    const named = path.match(/^\/apis\/([^/]+\/[^/]+)$/);
    const groupVersion = legacy?.[1] ?? named?.[1];
    if (request.method === "GET" && groupVersion && groupVersions.has(groupVersion)) {
      return send(200, resourceList(groupVersion));
    }
    send(404, {
      kind: "Status",
      apiVersion: "v1",
      status: "Failure",
      reason: "NotFound",
      code: 404,
      message: `${path} not found`,
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kubeconfig = join(mkdtempSync(join(tmpdir(), "patchbay-discovery-")), "kubeconfig");
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "double", cluster: { server: url } }],
      users: [{ name: "double", user: {} }],
      contexts: [{ name: "double", context: { cluster: "double", user: "double", namespace: "default" } }],
      "current-context": "double",
    }),
  );
  return {
    url,
    kubeconfig,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
