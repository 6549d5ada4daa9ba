/** The real kubectl, run offline, and the repository's manifests as parsed objects. */
import { execFile } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";

export const KUBECTL = "/usr/bin/kubectl";
export const ROOT = new URL("../../", import.meta.url).pathname;

const run = promisify(execFile);

export interface KubectlResult {
  stdout: string;
  stderr: string;
}

/** Runs kubectl from the repository root with no kubeconfig unless `env` gives one. */
export async function kubectl(args: string[], env: Record<string, string> = {}): Promise<KubectlResult> {
  return run(KUBECTL, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", KUBECONFIG: "/dev/null", ...env },
    maxBuffer: 32 * 1024 * 1024,
    timeout: 30_000,
  });
}

/** A parsed manifest; tests read deep into it, so the rest is loosely typed on purpose. */
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [key: string]: any;
};

export function parseObjects(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((document) => {
      if (document.errors.length > 0) throw new Error(document.errors.map(String).join("\n"));
      return document.toJS() as K8sObject | null;
    })
    .filter((object): object is K8sObject => object !== null);
}

export function readObjects(path: string): K8sObject[] {
  return parseObjects(readFileSync(join(ROOT, path), "utf8"));
}

export const CRD_FILES = ["sourceplugins", "executorplugins", "notifiers", "actions"].map(
  (p) => `crds/patchbay.dev_${p}.yaml`,
);

/** Every sample CR file in config/samples (the kustomization is not one). */
export function sampleFiles(): string[] {
  return readdirSync(join(ROOT, "config/samples"))
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => `config/samples/${name}`);
}
