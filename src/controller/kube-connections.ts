/**
 * One pool of connections to the API server per set of credentials, as client-go's shared transport.
 *
 * @kubernetes/client-node 2.x builds a new undici Agent for every request (KubeConfig's private
 * `createDispatcher`, called from `applySecurityAuthentication`), so every GET, PATCH and Event is a new
 * TCP connection and a new TLS handshake. Measured against a real kube-apiserver with 200 plugins, that
 * was a large share of the operator's CPU (SecureContext and certificate parsing per request) and of its
 * RSS (TLS buffers freed only by a later GC). Memoising the dispatcher by the TLS material it is built
 * from keeps keep-alive connections in one pool, and still builds a new one when a certificate rotates.
 */
import { createHash } from "node:crypto";
import type { KubeConfig } from "@kubernetes/client-node";

type CreateDispatcher = (cluster: unknown, agentOptions: Record<string, unknown>) => unknown;

/** At most this many pools: each set of credentials seen (rotation creates a new one) gets one. */
const MAX_POOLS = 4;
const reused = new WeakSet<KubeConfig>();

/** Makes every API client made from `kubeConfig` share connections; idempotent. Returns it. */
export function reuseConnections(kubeConfig: KubeConfig): KubeConfig {
  if (reused.has(kubeConfig)) return kubeConfig;
  const target = kubeConfig as unknown as { createDispatcher?: CreateDispatcher };
  const original = target.createDispatcher;
  // A client-node without the method builds its transport another way: nothing to do (and a test
  // counting connections says so).
  if (typeof original !== "function") return kubeConfig;
  const pools = new Map<string, unknown>();
  target.createDispatcher = (cluster, agentOptions) => {
    const key = poolKey(cluster, agentOptions);
    if (pools.has(key)) return pools.get(key);
    const dispatcher = original.call(kubeConfig, cluster, agentOptions);
    if (pools.size >= MAX_POOLS) pools.delete(pools.keys().next().value!);
    pools.set(key, dispatcher);
    return dispatcher;
  };
  reused.add(kubeConfig);
  return kubeConfig;
}

function poolKey(cluster: unknown, agentOptions: Record<string, unknown>): string {
  const { server, proxyUrl } = (cluster ?? {}) as { server?: string; proxyUrl?: string };
  const hash = createHash("sha256").update(JSON.stringify([server, proxyUrl]));
  for (const field of ["ca", "cert", "key", "pfx", "passphrase", "rejectUnauthorized", "servername"]) {
    const value = agentOptions[field];
    hash.update(`\0${field}=`);
    if (value !== undefined) hash.update(Buffer.isBuffer(value) ? value : String(value));
  }
  return hash.digest("hex");
}
