/**
 * HTTP load generator process: N keep-alive connections, each sending its next request as soon as the
 * previous answer has arrived, for a fixed time or a fixed number of requests.
 */
import { performance } from "node:perf_hooks";
import { RawHttpConnection, RequestTemplate, type RequestSpec } from "../harness/raw-http.ts";
import { serveRpc } from "../harness/rpc.ts";
import { summarizeLatencies, type LatencySummary } from "../harness/stats.ts";

export interface LoadParams {
  url: string;
  request: RequestSpec;
  connections: number;
  /** Timed run: warm up, then measure for durationMs. */
  warmupMs?: number;
  durationMs?: number;
  /** Counted run: send exactly this many requests (no warm-up), as fast as the connections allow. */
  totalRequests?: number;
}

export interface LoadResult {
  /** Requests answered inside the measured window. */
  requests: number;
  seconds: number;
  perSecond: number;
  /** Milliseconds. */
  latency: LatencySummary;
  /** Answers that were not 2xx, by status. */
  errors: Record<string, number>;
}

async function run(params: LoadParams): Promise<LoadResult> {
  const url = new URL(params.url);
  const template = new RequestTemplate(params.request, url.host);
  const connections = await Promise.all(
    Array.from({ length: params.connections }, () => RawHttpConnection.open(url.hostname, Number(url.port))),
  );
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  const started = performance.now();
  const counted = params.totalRequests !== undefined;
  const windowStart = counted ? started : started + (params.warmupMs ?? 0);
  const windowEnd = counted ? Infinity : windowStart + (params.durationMs ?? 1_000);
  let sent = 0;
  let answered = 0;
  let lastAnswer = started;
  const loop = async (connection: RawHttpConnection) => {
    for (;;) {
      if (counted ? sent >= params.totalRequests! : performance.now() >= windowEnd) return;
      sent++;
      const t0 = performance.now();
      const status = await connection.request(template.next());
      const t1 = performance.now();
      if (t1 < windowStart || t1 > windowEnd) continue;
      answered++;
      lastAnswer = t1;
      latencies.push(t1 - t0);
      if (status < 200 || status >= 300) errors[status] = (errors[status] ?? 0) + 1;
    }
  };
  try {
    await Promise.all(connections.map(loop));
  } finally {
    for (const connection of connections) connection.close();
  }
  const seconds = ((counted ? lastAnswer : windowEnd) - windowStart) / 1000;
  return {
    requests: answered,
    seconds,
    perSecond: answered / seconds,
    latency: summarizeLatencies(latencies),
    errors,
  };
}

serveRpc({ run }, { pid: process.pid });
