/**
 * The ceiling for storing events in JetStream from one Node process: the maintained client publishing
 * the same 1 KiB CloudEvent with a unique message id and awaiting each PubAck, N publishes in flight
 * (as N keep-alive connections each wait for their 202), into the same stream on the same server.
 */
import { DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { connect, nanos } from "@nats-io/transport-node";
import { performance } from "node:perf_hooks";
import { serveRpc, workerParams } from "../harness/rpc.ts";
import { summarizeLatencies } from "../harness/stats.ts";
import type { LoadResult } from "./http-load.ts";

export interface BarePublisherParams {
  url: string;
  stream: string;
  subject: string;
}

export interface PublishRunParams {
  /** The event's JSON; its "id" is made unique per publish. */
  event: Record<string, unknown>;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
}

const params = workerParams<BarePublisherParams>();
const nc = await connect({ servers: params.url });
const js = jetstream(nc);
// A stream of its own, configured as the bus configures PATCHBAY_EVENTS (file storage, limits, a
// 10-minute duplicate window), so that nothing in Patchbay consumes what this publishes.
const jsm = await jetstreamManager(nc);
await jsm.streams.add({
  name: params.stream,
  subjects: [params.subject],
  storage: StorageType.File,
  retention: RetentionPolicy.Limits,
  discard: DiscardPolicy.Old,
  num_replicas: 1,
  max_age: nanos(7 * 24 * 3_600_000),
  max_bytes: 1024 ** 3,
  duplicate_window: nanos(10 * 60_000),
});
let run = 0;

async function publishFor(options: PublishRunParams): Promise<LoadResult> {
  run++;
  const started = performance.now();
  const windowStart = started + options.warmupMs;
  const windowEnd = windowStart + options.durationMs;
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  let sequence = 0;
  const loop = async (lane: number) => {
    while (performance.now() < windowEnd) {
      const id = `bare-${run}-${lane}-${sequence++}`;
      const body = Buffer.from(JSON.stringify({ ...options.event, id }));
      const sent = performance.now();
      try {
        await js.publish(params.subject, body, { msgID: `bench/${id}` });
        // Counted as the HTTP load generator counts answers: those that arrive inside the window.
        const answered = performance.now();
        if (answered >= windowStart && answered <= windowEnd) latencies.push(answered - sent);
      } catch (error) {
        const name = (error as Error).name || "error";
        errors[name] = (errors[name] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, lane) => loop(lane)));
  const seconds = options.durationMs / 1000;
  return {
    requests: latencies.length,
    seconds,
    perSecond: latencies.length / seconds,
    latency: summarizeLatencies(latencies),
    errors,
  };
}

serveRpc({ run: (options: PublishRunParams) => publishFor(options) }, { connected: true });
process.once("SIGTERM", () => void nc.close().then(() => process.exit(0)));
