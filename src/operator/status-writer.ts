/**
 * Writes a custom resource's status through the status subresource with a merge patch, only when it
 * changed, and records a Kubernetes Event when the Ready condition changes.
 */
import { isDeepStrictEqual } from "node:util";
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Condition } from "../api/v1alpha1/index.ts";
import type { EventRecorder, ReconcileResult } from "../controller/index.ts";
import type { Logger } from "../observability/logger.ts";
import { apiMessage, statusCode, type Cluster } from "./cluster.ts";
import { READY } from "./plugin-status.ts";

export interface StatusWrite {
  cluster: Pick<Cluster, "patchStatus">;
  recorder: Pick<EventRecorder, "event">;
  log: Logger;
  plural: string;
  object: KubernetesObject & { status?: { conditions?: Condition[] } };
  status: { conditions?: Condition[] } & object;
}

export async function writeStatus(write: StatusWrite): Promise<ReconcileResult | void> {
  const { object, status } = write;
  const previous = (object.status ?? {}) as Record<string, unknown>;
  const next = withoutUndefined(status as Record<string, unknown>);
  if (isDeepStrictEqual(previous, next)) return;
  // A merge patch leaves absent keys alone; null removes what the new status no longer has.
  const patch: Record<string, unknown> = { ...next };
  for (const key of Object.keys(previous)) if (!(key in next)) patch[key] = null;
  const name = object.metadata?.name ?? "";
  try {
    await write.cluster.patchStatus(write.plural, object.metadata?.namespace ?? "default", name, patch);
  } catch (error) {
    const code = statusCode(error);
    if (code === 404) return;
    if (code === 409) return { requeue: true };
    throw new Error(`cannot write the status of ${write.plural}/${name}: ${apiMessage(error)}`);
  }
  await recordReadyTransition(write.recorder, object, object.status?.conditions, status.conditions);
}

async function recordReadyTransition(
  recorder: Pick<EventRecorder, "event">,
  object: KubernetesObject,
  before: Condition[] | undefined,
  after: Condition[] | undefined,
): Promise<void> {
  const was = before?.find((condition) => condition.type === READY);
  const now = after?.find((condition) => condition.type === READY);
  if (!now || now.status === "Unknown") return;
  if (was && was.status === now.status && was.reason === now.reason) return;
  if (now.status === "True")
    await recorder.event(object, "Normal", "Ready", `${object.kind ?? "the resource"} is ready`);
  else await recorder.event(object, "Warning", now.reason, now.message || now.reason);
}

function withoutUndefined(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));
}
