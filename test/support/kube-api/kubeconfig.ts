/** Client configuration pointing at a double: a kubeconfig file for kubectl, a KubeConfig for client-node. */

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";

export interface ClientConfigOptions {
  /** The context's default namespace (kubectl's `-n` when omitted). Default "default". */
  namespace?: string;
}

const names = { cluster: "kube-api-double", user: "test", context: "kube-api-double" };

/**
 * Plain HTTP, no credentials: the double does no authentication. `insecure-skip-tls-verify` because
 * client-node 2.x refuses an http:// server without it (kubectl does not mind either way).
 */
export function kubeconfigDocument(url: string, options: ClientConfigOptions = {}): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: names.cluster, cluster: { server: url, "insecure-skip-tls-verify": true } }],
    users: [{ name: names.user, user: {} }],
    contexts: [
      {
        name: names.context,
        context: { cluster: names.cluster, user: names.user, namespace: options.namespace ?? "default" },
      },
    ],
    "current-context": names.context,
  };
}

export async function writeKubeconfigFile(
  dir: string,
  url: string,
  options: ClientConfigOptions = {},
): Promise<string> {
  const path = join(dir, "kubeconfig");
  await writeFile(path, stringify(kubeconfigDocument(url, options)), { mode: 0o600 });
  return path;
}

export function makeKubeConfig(url: string, options: ClientConfigOptions = {}): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: names.cluster, server: url, skipTLSVerify: true }],
    users: [{ name: names.user }],
    contexts: [
      {
        name: names.context,
        cluster: names.cluster,
        user: names.user,
        namespace: options.namespace ?? "default",
      },
    ],
    currentContext: names.context,
  });
  return kc;
}
