/**
 * Manifests of the repository's own plugins as `patchbay local` processes, for tests that write a plane
 * of their own: the same YAML a user writes, with this Node and this checkout's paths.
 */
import path from "node:path";

const quoted = (value: string) => JSON.stringify(value);
const processCommand = (script: string) => `[${quoted(process.execPath)}, ${quoted(path.resolve(script))}]`;

/** The prometheus source (Alertmanager's webhook) named `name`. */
export function prometheusSourceManifest(name = "alertmanager"): string {
  return `apiVersion: patchbay.dev/v1alpha1
kind: SourcePlugin
metadata: {name: ${name}}
spec:
  runtime: {process: {command: ${processCommand("plugins/prometheus/main.ts")}}}
`;
}

/** The kubectl executor, running the real kubectl against the cluster in `kubeconfig`. */
export function kubectlExecutorManifest(kubeconfig: string): string {
  return `apiVersion: patchbay.dev/v1alpha1
kind: ExecutorPlugin
metadata: {name: kubectl}
spec:
  prefixes: [kubectl]
  timeoutSeconds: 20
  runtime:
    process:
      command: ${processCommand("plugins/kubectl/main.ts")}
      env: {KUBECONFIG: ${quoted(kubeconfig)}}
`;
}
