/** Measuring event streams: a producer in one process, a counting consumer in another. */
import type { Worker } from "./processes.ts";
import { sleep } from "./processes.ts";
import { summarizeLatencies, type LatencySummary } from "./stats.ts";

export interface Window {
  warmupMs: number;
  durationMs: number;
}

/**
 * Unpauses the producers, lets the stream settle, then counts what the consumer saw per second;
 * pauses the producers again so the next measurement has the machine to itself.
 */
export async function streamRate(
  producers: Worker[],
  consumer: Worker,
  count: (counts: Record<string, number>) => number,
  window: Window,
): Promise<number> {
  await Promise.all(producers.map((p) => p.call("setRate", 0)));
  await sleep(window.warmupMs);
  const before = count(await consumer.call("counts"));
  const t0 = performance.now();
  await sleep(window.durationMs);
  const after = count(await consumer.call("counts"));
  const seconds = (performance.now() - t0) / 1000;
  await pause(producers);
  return (after - before) / seconds;
}

/** End-to-end latency (producer clock → consumer) at a fixed rate per producer. */
export async function streamLatency(
  producers: Worker[],
  consumer: Worker,
  ratePerProducer: number,
  window: Window,
): Promise<LatencySummary> {
  await Promise.all(producers.map((p) => p.call("setRate", ratePerProducer)));
  await sleep(window.warmupMs);
  await consumer.call("startLatency");
  await sleep(window.durationMs);
  const samples = await consumer.call<number[]>("takeLatency");
  await pause(producers);
  return summarizeLatencies(samples);
}

async function pause(producers: Worker[]): Promise<void> {
  await Promise.all(producers.map((p) => p.call("setRate", -1)));
  // What is in flight drains before the next measurement starts.
  await sleep(200);
}
