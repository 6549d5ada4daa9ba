/**
 * Sequential command calls from their own process: POST /commands over one keep-alive connection, or
 * Execute straight to the executor plugin over gRPC. Each answer is checked, each call timed.
 */
import { performance } from "node:perf_hooks";
import * as grpc from "@grpc/grpc-js";
import { ExecuteErrorCode, ExecutorClient, type ExecuteResponse } from "@patchbay/sdk/protocol";
import { RawHttpConnection, RequestTemplate } from "../harness/raw-http.ts";
import { serveRpc } from "../harness/rpc.ts";
import { summarizeLatencies, type LatencySummary } from "../harness/stats.ts";

export interface CommandRun {
  /** Timed calls; as many untimed ones go first to warm up. */
  calls: number;
  warmup: number;
}

async function viaHttp({ url, calls, warmup }: CommandRun & { url: string }): Promise<LatencySummary> {
  const target = new URL(url);
  const template = new RequestTemplate(
    {
      method: "POST",
      path: "/commands",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ command: "echo hello", user: "bench" }),
    },
    target.host,
  );
  const connection = await RawHttpConnection.open(target.hostname, Number(target.port));
  try {
    return await timed(calls, warmup, async () => {
      const status = await connection.request(template.next());
      if (status !== 200) throw new Error(`POST /commands answered ${status}`);
    });
  } finally {
    connection.close();
  }
}

async function viaGrpc({
  address,
  calls,
  warmup,
}: CommandRun & { address: string }): Promise<LatencySummary> {
  const client = new ExecutorClient(address, grpc.credentials.createInsecure());
  const request = {
    command: "echo hello",
    args: ["echo", "hello"],
    prefix: "echo",
    configJson: JSON.stringify({ upperCase: false }),
    context: { user: "bench", notifier: "", channel: "", executorName: "echo" },
  };
  try {
    return await timed(
      calls,
      warmup,
      () =>
        new Promise<void>((resolve, reject) =>
          client.execute(
            request,
            new grpc.Metadata(),
            { deadline: Date.now() + 10_000 },
            (err: grpc.ServiceError | null, response: ExecuteResponse) => {
              if (err) reject(err);
              else if (response.errorCode !== ExecuteErrorCode.EXECUTE_ERROR_CODE_OK)
                reject(new Error(`Execute answered ${response.errorMessage}`));
              else resolve();
            },
          ),
        ),
    );
  } finally {
    client.close();
  }
}

async function timed(calls: number, warmup: number, call: () => Promise<void>): Promise<LatencySummary> {
  for (let i = 0; i < warmup; i++) await call();
  const latencies = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    await call();
    latencies[i] = performance.now() - t0;
  }
  return summarizeLatencies(latencies);
}

serveRpc({ viaHttp, viaGrpc }, { pid: process.pid });
process.once("SIGTERM", () => process.exit(0));
