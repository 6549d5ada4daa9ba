/**
 * A small stand-in for the Kubernetes API, for this plugin's tests: list and watch (JSON lines over
 * chunked HTTP) of a few paths, with objects the test adds, and a log of every request it served.
 * The shared Kubernetes API test double may replace it when it exists.
 */
import { once } from "node:events";
import { createServer, type ServerResponse } from "node:http";
import type { KubernetesObject } from "@kubernetes/client-node";

type WatchType = "ADDED" | "MODIFIED" | "DELETED";

export interface RecordedApi {
  url: string;
  /** Every request served, e.g. "GET /apis/apps/v1/deployments?watch=true&resourceVersion=3". */
  requests: string[];
  /** Objects present before anyone lists (they must not be announced). */
  seed(path: string, object: KubernetesObject): void;
  /** Sends a watch event to every open watch of `path` and updates the list. */
  send(path: string, type: WatchType, object: KubernetesObject): void;
  /** Open watch connections on `path`. */
  watchers(path: string): number;
  /** Ends open watches of `path` and answers the next `count` watch requests with `status`. */
  failWatches(path: string, status: number, count?: number): void;
  writeKubeconfig(file: string): Promise<void>;
  close(): Promise<void>;
}

export async function startRecordedApi(): Promise<RecordedApi> {
  let resourceVersion = 1;
  const objects = new Map<string, Map<string, KubernetesObject>>();
  const watches = new Map<string, Set<ServerResponse>>();
  const failures = new Map<string, { status: number; count: number }>();
  const requests: string[] = [];

  const server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    const url = new URL(request.url ?? "/", "http://localhost");
    const path = url.pathname;
    if (request.method !== "GET") return void response.writeHead(405).end();
    if (url.searchParams.get("watch") === "true") {
      const failure = failures.get(path);
      if (failure && failure.count > 0) {
        failure.count--;
        response.writeHead(failure.status, { "content-type": "application/json" });
        return void response.end(
          JSON.stringify({ kind: "Status", code: failure.status, message: "injected failure" }),
        );
      }
      response.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
      response.flushHeaders();
      const open = watches.get(path) ?? new Set();
      watches.set(path, open);
      open.add(response);
      response.on("close", () => open.delete(response));
      return;
    }
    const items = [...(objects.get(path)?.values() ?? [])];
    response.writeHead(200, { "content-type": "application/json" });
    response.end(
      JSON.stringify({
        kind: "List",
        apiVersion: "v1",
        metadata: { resourceVersion: String(resourceVersion) },
        items,
      }),
    );
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  const url = `http://127.0.0.1:${port}`;

  const store = (path: string, object: KubernetesObject, type: WatchType | "SEED") => {
    object.metadata = { ...object.metadata, resourceVersion: String(++resourceVersion) };
    const byUid = objects.get(path) ?? new Map<string, KubernetesObject>();
    objects.set(path, byUid);
    if (type === "DELETED") byUid.delete(object.metadata.uid!);
    else byUid.set(object.metadata.uid!, object);
    return object;
  };

  return {
    url,
    requests,
    seed: (path, object) => void store(path, structuredClone(object), "SEED"),
    send(path, type, object) {
      const stored = store(path, structuredClone(object), type);
      for (const watch of watches.get(path) ?? [])
        watch.write(`${JSON.stringify({ type, object: stored })}\n`);
    },
    watchers: (path) => watches.get(path)?.size ?? 0,
    failWatches(path, status, count = 1) {
      failures.set(path, { status, count });
      for (const watch of watches.get(path) ?? []) watch.end();
    },
    async writeKubeconfig(file) {
      const { writeFile } = await import("node:fs/promises");
      await writeFile(
        file,
        JSON.stringify({
          apiVersion: "v1",
          kind: "Config",
          // client-node refuses plain HTTP unless told to skip TLS verification.
          clusters: [{ name: "recorded", cluster: { server: url, "insecure-skip-tls-verify": true } }],
          users: [{ name: "test", user: { token: "test-token" } }],
          contexts: [{ name: "recorded", context: { cluster: "recorded", user: "test" } }],
          "current-context": "recorded",
        }),
      );
    },
    async close() {
      for (const open of watches.values()) for (const watch of open) watch.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
