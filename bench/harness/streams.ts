/** Measuring event streams: a producer in one process, a counting consumer in another. */
import type { Worker } from "./processes.ts";
import { sleep } from "./processes.ts";
import { summarizeLatencies, type LatencySummary } from "./stats.ts";

export interface Window {
  warmupMs: number;
  durationMs: number;
}

/**
 * Unpauses the producers, lets the stream settle, then reads the consumer's counters per second;
 * pauses the producers again so the next measurement has the machine to itself.
 */
export async function streamRates<K extends string>(
  producers: Worker[],
  consumer: Worker,
  counters: readonly K[],
  window: Window,
): Promise<Record<K, number>> {
  await Promise.all(producers.map((p) => p.call("setRate", 0)));
  await sleep(window.warmupMs);
  const before = await consumer.call<Record<K, number>>("counts");
  const t0 = performance.now();
  await sleep(window.durationMs);
  const after = await consumer.call<Record<K, number>>("counts");
  const seconds = (performance.now() - t0) / 1000;
  await pause(producers);
  const rates = {} as Record<K, number>;
  for (const counter of counters) rates[counter] = (after[counter] - before[counter]) / seconds;
  return rates;
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
