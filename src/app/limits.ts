/**
 * The data plane's memory and concurrency limits: from the environment (the manager Deployment's env,
 * or `patchbay local`'s flags, which win), else the defaults below. A bad value stops the start with a
 * message naming the variable, rather than a limit silently ignored.
 */
import { DEFAULT_MAX_CONCURRENT_PER_EXECUTOR, DEFAULT_MAX_WAITING_PER_EXECUTOR } from "../commands/index.ts";
import { DEFAULT_MEMORY_BUDGET_BYTES, DEFAULT_NOTIFIER_QUEUE_BYTES } from "../router/index.ts";

export interface DataPlaneLimits {
  /** PATCHBAY_MEMORY_BUDGET: bytes of events held across the router; /events answers 503 beyond. */
  memoryBudgetBytes: number;
  /** PATCHBAY_NOTIFIER_QUEUE_BYTES: bytes of events one notifier's queue holds; the oldest go first. */
  notifierQueueBytes: number;
  /** PATCHBAY_EXECUTOR_CONCURRENCY: commands in flight at once per executor. */
  executorConcurrency: number;
  /** PATCHBAY_EXECUTOR_QUEUE: commands waiting per executor for a slot; beyond, "unavailable". */
  executorQueue: number;
}

export const DEFAULT_LIMITS: Readonly<DataPlaneLimits> = Object.freeze({
  memoryBudgetBytes: DEFAULT_MEMORY_BUDGET_BYTES,
  notifierQueueBytes: DEFAULT_NOTIFIER_QUEUE_BYTES,
  executorConcurrency: DEFAULT_MAX_CONCURRENT_PER_EXECUTOR,
  executorQueue: DEFAULT_MAX_WAITING_PER_EXECUTOR,
});

export class LimitError extends Error {
  override name = "LimitError";
}

/** Only the limits the environment sets; unset or empty variables are left to the defaults. */
export function limitsFromEnv(env: NodeJS.ProcessEnv): Partial<DataPlaneLimits> {
  const limits: Partial<DataPlaneLimits> = {};
  const read = (name: string) => (env[name] === undefined || env[name] === "" ? undefined : env[name]);
  const budget = read("PATCHBAY_MEMORY_BUDGET");
  if (budget !== undefined) limits.memoryBudgetBytes = parseByteSize(budget, "PATCHBAY_MEMORY_BUDGET");
  const queueBytes = read("PATCHBAY_NOTIFIER_QUEUE_BYTES");
  if (queueBytes !== undefined)
    limits.notifierQueueBytes = parseByteSize(queueBytes, "PATCHBAY_NOTIFIER_QUEUE_BYTES");
  const concurrency = read("PATCHBAY_EXECUTOR_CONCURRENCY");
  if (concurrency !== undefined)
    limits.executorConcurrency = parseCount(concurrency, "PATCHBAY_EXECUTOR_CONCURRENCY", 1);
  const queue = read("PATCHBAY_EXECUTOR_QUEUE");
  if (queue !== undefined) limits.executorQueue = parseCount(queue, "PATCHBAY_EXECUTOR_QUEUE", 0);
  return limits;
}

const BYTE_UNITS: Record<string, number> = {
  "": 1,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
};

/** A size as Kubernetes writes one: "134217728", "128Mi", "1Gi", "500M". */
export function parseByteSize(text: string, name: string): number {
  const match = /^(\d+)(Ki|Mi|Gi|K|M|G)?$/.exec(text.trim());
  const bytes = match ? Number(match[1]) * BYTE_UNITS[match[2] ?? ""]! : NaN;
  if (!(bytes >= 1 && Number.isSafeInteger(bytes))) {
    throw new LimitError(
      `${name} must be a size in bytes such as 134217728, 128Mi or 1Gi, not ${JSON.stringify(text)}`,
    );
  }
  return bytes;
}

export function parseCount(text: string, name: string, minimum: number): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!(value >= minimum && Number.isSafeInteger(value))) {
    throw new LimitError(`${name} must be a whole number >= ${minimum}, not ${JSON.stringify(text)}`);
  }
  return value;
}
