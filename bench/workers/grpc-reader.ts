/**
 * The router's ceiling: source streams read over gRPC by a bare client that decodes each event and
 * discards it (optionally sampling the end-to-end latency, as the data plane's sink does).
 */
import { performance } from "node:perf_hooks";
import * as grpc from "@grpc/grpc-js";
import { SourceClient, type Event } from "@patchbay/sdk/protocol";
import { serveRpc, workerParams } from "../harness/rpc.ts";

const SENT_AT = "benchsentat";
const { addresses } = workerParams<{ addresses: string[] }>();

let received = 0;
let latencies: number[] | undefined;
for (const [i, address] of addresses.entries()) {
  const client = new SourceClient(address, grpc.credentials.createInsecure(), {
    "grpc.max_receive_message_length": 16 * 1024 * 1024,
  });
  const stream = client.stream({ sourceName: `flood-${i}`, configJson: "{}", resumeAfterId: "" });
  stream.on("data", (event: Event) => {
    received++;
    if (latencies !== undefined) {
      latencies.push(performance.timeOrigin + performance.now() - Number(event.extensions[SENT_AT]));
    }
  });
  stream.on("error", (err: Error) => {
    if (!/CANCELLED/.test(err.message)) console.error(`bare reader: ${err.message}`);
  });
}

serveRpc(
  {
    counts: () => ({ received }),
    startLatency: () => {
      latencies = [];
    },
    takeLatency: () => {
      const taken = latencies ?? [];
      latencies = undefined;
      return taken;
    },
  },
  { pid: process.pid },
);
process.once("SIGTERM", () => process.exit(0));
