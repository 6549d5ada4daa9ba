/**
 * The least a controller must do for N new objects: list and watch them, and write each one's status
 * once (Ready=True) — plain HTTP against the API double, no informer, no work queue, no plugin.
 */
import { serveRpc, workerParams } from "../harness/rpc.ts";

const { url, namespace } = workerParams<{ url: string; namespace: string }>();
const base = `${url}/apis/patchbay.dev/v1alpha1/namespaces/${namespace}/sourceplugins`;

const list = (await (await fetch(base)).json()) as { metadata: { resourceVersion: string } };
void watch(list.metadata.resourceVersion);

async function watch(resourceVersion: string): Promise<void> {
  const response = await fetch(`${base}?watch=1&resourceVersion=${resourceVersion}`);
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of response.body!) {
    buffered += decoder.decode(chunk as Uint8Array, { stream: true });
    let newline;
    while ((newline = buffered.indexOf("\n")) !== -1) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (!line.trim()) continue;
      const event = JSON.parse(line) as {
        type: string;
        object: { metadata: { name: string; generation?: number } };
      };
      if (event.type === "ADDED")
        void markReady(event.object.metadata.name, event.object.metadata.generation ?? 1);
    }
  }
}

async function markReady(name: string, generation: number): Promise<void> {
  const now = new Date().toISOString();
  const response = await fetch(`${base}/${name}/status`, {
    method: "PATCH",
    headers: { "content-type": "application/merge-patch+json" },
    body: JSON.stringify({
      status: {
        observedGeneration: generation,
        conditions: [
          {
            type: "Ready",
            status: "True",
            reason: "Ready",
            message: "bench",
            lastTransitionTime: now,
            observedGeneration: generation,
          },
        ],
      },
    }),
  });
  if (!response.ok) console.error(`status of ${name}: ${response.status} ${await response.text()}`);
}

serveRpc(
  {
    cpuMs: () => {
      const { user, system } = process.cpuUsage();
      return (user + system) / 1000;
    },
  },
  { pid: process.pid },
);
process.once("SIGTERM", () => process.exit(0));
