/**
 * What `patchbay operator` checks before it starts anything: a kubeconfig it can read, an API server
 * that answers within a short wait, and Patchbay's CRDs installed. Each failure is a StartupError whose
 * message says what is wrong and what to do; without these checks the operator would run on, its
 * informers retrying forever against a cluster that is not there.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { GROUP, VERSION } from "../api/v1alpha1/meta.ts";

export class StartupError extends Error {
  override name = "StartupError";
}

/**
 * The kinds the operator watches, whose CRDs it cannot run without. Not every kind of the API: a kind
 * the operator does not watch yet need not be installed for it to start.
 */
export const WATCHED_PLURALS = ["sourceplugins", "executorplugins", "notifiers", "actions"] as const;

/** The default wait for the API server at start; PATCHBAY_STARTUP_TIMEOUT_SECONDS changes it. */
export const DEFAULT_STARTUP_TIMEOUT_SECONDS = 10;

/** The in-cluster config in a Pod, else KUBECONFIG or ~/.kube/config, as kubectl reads them. */
export function loadKubeConfig(env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromDefault();
  } catch (err) {
    const where = env.KUBECONFIG ? `KUBECONFIG=${env.KUBECONFIG}` : "~/.kube/config";
    throw new StartupError(`cannot read the kubeconfig (${where}): ${firstLine((err as Error).message)}`);
  }
  return kubeConfig;
}

export function startupTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.PATCHBAY_STARTUP_TIMEOUT_SECONDS;
  if (text === undefined || text === "") return DEFAULT_STARTUP_TIMEOUT_SECONDS * 1000;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new StartupError(
      `PATCHBAY_STARTUP_TIMEOUT_SECONDS must be a positive number of seconds, not ${JSON.stringify(text)}`,
    );
  return seconds * 1000;
}

/**
 * Waits up to `timeoutMs` for the API server to answer discovery of patchbay.dev/v1alpha1, then checks
 * that it serves every kind the operator watches. Discovery needs no RBAC beyond being authenticated, so
 * this works for the operator's own ServiceAccount.
 */
export async function checkCluster(kubeConfig: KubeConfig, timeoutMs: number): Promise<void> {
  const server = kubeConfig.getCurrentCluster()?.server ?? "(no server in the kubeconfig)";
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  const expected = WATCHED_PLURALS.map((plural) => ({ plural, name: `${plural}.${GROUP}` }));
  const deadline = Date.now() + timeoutMs;
  let served: Set<string> | undefined;
  while (served === undefined) {
    try {
      const list = await api.getAPIResources({ group: GROUP, version: VERSION });
      served = new Set(list.resources.map((resource) => resource.name));
    } catch (err) {
      const status = statusOf(err);
      // Not found: the API server answers, and has no patchbay.dev group at all.
      if (status === 404) served = new Set();
      else if (status === 401 || status === 403)
        throw new StartupError(
          `the Kubernetes API server at ${server} refused Patchbay's credentials (HTTP ${status}); check the kubeconfig's user or the ServiceAccount`,
        );
      else {
        const networkCode = status === undefined ? networkErrorCode(err) : undefined;
        // Neither an HTTP answer nor a socket error: the client refused (e.g. http:// without
        // insecure-skip-tls-verify). Waiting changes nothing.
        if (status === undefined && networkCode === undefined)
          throw new StartupError(
            `cannot connect to the Kubernetes API server at ${server}: ${firstLine((err as Error).message ?? String(err))}`,
          );
        const problem = networkCode ?? `HTTP ${status}`;
        if (Date.now() >= deadline)
          throw new StartupError(
            `cannot reach the Kubernetes API server at ${server} within ${timeoutMs / 1000} s (${problem}); check KUBECONFIG or the current context (kubectl cluster-info), or wait longer with PATCHBAY_STARTUP_TIMEOUT_SECONDS`,
          );
        await sleep(Math.min(500, Math.max(0, deadline - Date.now())));
      }
    }
  }
  const missing = expected.filter(({ plural }) => !served.has(plural)).map(({ name }) => name);
  if (missing.length > 0)
    throw new StartupError(
      `the cluster at ${server} lacks Patchbay's CRDs: ${missing.join(", ")}; install them with 'kubectl apply -k crds' (the CRDs only) or 'kubectl apply -k .' (the whole install) from the Patchbay repository`,
    );
}

function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === "number" ? code : undefined;
}

/** fetch wraps the socket error; its code (ECONNREFUSED, ENOTFOUND, …) is what a person can act on. */
function networkErrorCode(err: unknown): string | undefined {
  const cause = (err as { cause?: { code?: string; errors?: { code?: string }[] } }).cause;
  return cause?.code ?? cause?.errors?.find((inner) => inner.code)?.code;
}

function firstLine(text: string): string {
  return text.split("\n")[0]!.trim();
}
