/**
 * The cluster's name as people read it in chat (PATCHBAY_CLUSTER_NAME for the operator, `patchbay local
 * --cluster-name`): letters, digits, ".", "_" and "-", starting and ending with a letter or digit, at
 * most 63 characters — room for kubeconfig context names such as gke_project_zone_name.
 */
const CLUSTER_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;

/** The name, undefined when unset or empty; throws an Error saying what is wrong when it is malformed. */
export function clusterNameOf(value: string | undefined, setting: string): string | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  if (!CLUSTER_NAME.test(value)) {
    throw new Error(
      `${setting} must be 1 to 63 letters, digits, ".", "_" or "-", starting and ending with a letter or digit (got ${JSON.stringify(value.slice(0, 80))})`,
    );
  }
  return value;
}
