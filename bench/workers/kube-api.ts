/** The Kubernetes API test double in its own process, with Patchbay's CRDs, for the reconcile benchmark. */
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { startKubeApiDouble, type KubeObject } from "../../test/support/kube-api/index.ts";
import { serveRpc, workerParams } from "../harness/rpc.ts";

const { namespaces } = workerParams<{ namespaces: string[] }>();
const api = await startKubeApiDouble({
  crds: [
    "crds/patchbay.dev_sourceplugins.yaml",
    "crds/patchbay.dev_executorplugins.yaml",
    "crds/patchbay.dev_notifiers.yaml",
  ],
  namespaces: ["default", "patchbay-system", ...namespaces],
});
api.create(parse(readFileSync("config/manager/manager.yaml", "utf8")) as KubeObject);

const query = (namespace: string) => ({
  apiVersion: "patchbay.dev/v1alpha1",
  kind: "SourcePlugin",
  namespace,
});

serveRpc(
  {
    /** Creates `count` external-runtime SourcePlugins pointing at `address`, all at once. */
    createSources: ({ namespace, count, address }: { namespace: string; count: number; address: string }) => {
      for (let i = 0; i < count; i++) {
        const sourcePlugin = {
          apiVersion: "patchbay.dev/v1alpha1",
          kind: "SourcePlugin",
          metadata: { name: `bench-${i}`, namespace },
          spec: { runtime: { external: { address } } },
        };
        api.create(sourcePlugin);
      }
    },
    /**
     * The requests other than watches and Lease renewals over `windowMs` from now: what a controller at
     * rest should not send.
     */
    restRequests: async ({ windowMs }: { windowMs: number }) => {
      const start = api.requests.length;
      await new Promise((resolve) => setTimeout(resolve, windowMs));
      return api.requests
        .slice(start)
        .filter((request) => !request.watch && !request.path.includes("/leases")).length;
    },
    /** How many SourcePlugins in the namespace have Ready=True. */
    readyCount: (namespace: string) =>
      api.list(query(namespace)).filter((o) => {
        const conditions = (o.status as { conditions?: { type: string; status: string }[] } | undefined)
          ?.conditions;
        return conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
      }).length,
  },
  { url: api.url },
);
process.once("SIGTERM", () => process.exit(0));
