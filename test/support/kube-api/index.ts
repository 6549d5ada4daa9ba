/**
 * A Kubernetes API server TEST DOUBLE (not Kubernetes): in-memory, plain HTTP on 127.0.0.1, real
 * REST and watch protocol for the real client-node and kubectl. README.md in this folder lists
 * what it serves, what it approximates and what does not work.
 */

export { KubeApiDouble, startKubeApiDouble } from "./double.ts";
export type { KubeApiDoubleOptions, ListQuery, ObjectRef, WaitOptions } from "./double.ts";
export { ApiError } from "./errors.ts";
export type { Status, StatusCause, StatusDetails } from "./errors.ts";
export type { FaultRule, InjectedFault, RequestLogEntry } from "./faults.ts";
export { kubeconfigDocument, makeKubeConfig, writeKubeconfigFile } from "./kubeconfig.ts";
export type { ClientConfigOptions } from "./kubeconfig.ts";
export type { KubeObject, KubeObjectInput, ObjectMeta, OwnerReference } from "./objects.ts";
export type { DeleteOptions } from "./operations.ts";
