/** Raw HTTP for hostile clients (node:http, so any header or body goes out as written), and /metrics. */
import { Agent, request } from "node:http";
import type { NotifierStats, RouterStats } from "../../../src/router/index.ts";

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface Outgoing {
  method?: string;
  path: string;
  headers?: Record<string, string | number>;
  body?: string | Buffer;
}

export function send(baseUrl: string, outgoing: Outgoing, agent?: Agent): Promise<Answer> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: hostname,
        port,
        path: outgoing.path,
        method: outgoing.method ?? "POST",
        headers: outgoing.headers,
        agent: agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(outgoing.body);
  });
}

export function postEvent(baseUrl: string, event: Record<string, unknown>, agent?: Agent): Promise<Answer> {
  return send(
    baseUrl,
    {
      path: "/events",
      headers: { "content-type": "application/cloudevents+json" },
      body: JSON.stringify(event),
    },
    agent,
  );
}

/** Why an answer breaks the ingress's contract, or undefined when it keeps it. */
export function contractBreach(answer: Answer, allowed5xx: readonly number[] = []): string | undefined {
  if (answer.status >= 500 && !allowed5xx.includes(answer.status)) return `status ${answer.status}`;
  if (answer.status < 400) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.body);
  } catch {
    return `status ${answer.status} with a body that is not JSON: ${answer.body.slice(0, 120)}`;
  }
  const error = (parsed as { error?: { code?: unknown; message?: unknown } }).error;
  if (
    typeof error?.code !== "string" ||
    error.code === "" ||
    typeof error.message !== "string" ||
    error.message === ""
  )
    return `status ${answer.status} without {error:{code,message}}: ${answer.body.slice(0, 120)}`;
  return undefined;
}

export async function scrape(managementUrl: string): Promise<string> {
  const response = await fetch(`${managementUrl}/metrics`);
  return response.text();
}

/** Sum of every sample of `name` whose labels include all of `labels`. */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = line.slice(name.length).split(" ")[0] ?? "";
    if (!Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) continue;
    total += Number(line.split(" ").at(-1));
  }
  return total;
}

/** received = delivered + failed + dropped + queued + inFlight, for one notifier. */
export function identityHolds(stats: NotifierStats): boolean {
  return stats.received === stats.delivered + stats.failed + stats.dropped + stats.queued + stats.inFlight;
}

/** Every notifier's identity, and /metrics telling the same story as router.stats(). */
export function metricsDisagreement(stats: RouterStats, metrics: string): string[] {
  const problems: string[] = [];
  for (const [notifier, s] of Object.entries(stats.notifiers)) {
    if (!identityHolds(s)) problems.push(`${notifier}: identity broken ${JSON.stringify(s)}`);
    const seen = {
      received: metricSum(metrics, "patchbay_events_routed_total", { notifier }),
      delivered: metricSum(metrics, "patchbay_notifier_delivered_total", { notifier }),
      failed: metricSum(metrics, "patchbay_notifier_failed_total", { notifier }),
      dropped: metricSum(metrics, "patchbay_notifier_dropped_total", { notifier }),
      queued: metricSum(metrics, "patchbay_notifier_queue_depth", { notifier }),
      inFlight: metricSum(metrics, "patchbay_notifier_in_flight", { notifier }),
    };
    for (const [key, value] of Object.entries(seen)) {
      if (value !== s[key as keyof typeof seen])
        problems.push(
          `${notifier}: /metrics says ${key}=${value}, stats() says ${s[key as keyof typeof seen]}`,
        );
    }
  }
  return problems;
}

export const keepAlive = () => new Agent({ keepAlive: true, maxSockets: 8 });
