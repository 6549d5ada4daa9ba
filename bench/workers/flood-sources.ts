/**
 * Source plugins that produce events as fast as the host reads them (or at a set rate), each stamped
 * with the producer's clock. Several sources share this one process, each on its own port, so that
 * "50 sources" does not mean 50 Node processes on a 2-core machine.
 */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { serveSource, type RunningPlugin, type SourceEvent } from "@patchbay/sdk";
import { serveRpc, workerParams } from "../harness/rpc.ts";

export interface FloodParams {
  sources: number;
  /** Events per second per source; 0 is as fast as the stream takes them; negative pauses. */
  rate?: number;
}

const SENT_AT = "benchsentat";
const DATA = Buffer.from(JSON.stringify({ message: "a benchmark event", payload: "x".repeat(200) }));

const params = workerParams<FloodParams>();
let rate = params.rate ?? 0;
let produced = 0;

async function* flood(source: string, signal: AbortSignal): AsyncIterable<SourceEvent> {
  let n = 0;
  let due = performance.now();
  while (!signal.aborted) {
    if (rate < 0) {
      await sleep(10);
      due = performance.now();
      continue;
    }
    if (rate > 0) {
      // Paced: whatever fell due since the last tick, then a 1 ms nap.
      const now = performance.now();
      if (due > now) await sleep(Math.max(1, due - now));
      due = Math.max(due, performance.now() - 100) + 1000 / rate;
    }
    produced++;
    yield {
      id: `${source}-${process.pid}-${n++}`,
      type: "dev.patchbay.bench.router",
      severity: "warning",
      subject: "bench",
      data: DATA,
      dataContentType: "application/json",
      extensions: { [SENT_AT]: String(performance.timeOrigin + performance.now()) },
    };
  }
}

const running: RunningPlugin[] = [];
for (let i = 0; i < params.sources; i++) {
  running.push(
    await serveSource(
      {
        name: "flood",
        version: "1.0.0",
        resumable: false,
        stream: ({ sourceName, signal }) => flood(sourceName, signal),
      },
      { address: "127.0.0.1:0", inProcess: true },
    ),
  );
}

serveRpc(
  {
    setRate: (perSecond: number) => {
      rate = perSecond;
    },
    counts: () => ({ produced }),
  },
  { addresses: running.map((plugin) => plugin.address) },
);
process.once("SIGTERM", () => process.exit(0));
