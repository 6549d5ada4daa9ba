/**
 * The management port, separate from the ingress so probes and scrapes never queue behind traffic:
 *   GET /healthz  liveness — 200 while the event loop turns
 *   GET /readyz   readiness — 200, or 503 listing each failing check and why
 *   GET /metrics  Prometheus exposition of the registry
 * Errors use the ingress's shape: { "error": { "code", "message" } }.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

/** Resolves to undefined when ready, or to the reason it is not; a throw counts as not ready. */
export type ReadinessCheck = () => string | undefined | Promise<string | undefined>;

export interface ManagementServerOptions {
  /** Default 0.0.0.0. */
  host?: string;
  /** Default 8081; 0 picks a free port. */
  port?: number;
  registry: Registry;
  /** Named readiness checks, e.g. { informers: () => synced ? undefined : "caches not synced" }. */
  checks?: Record<string, ReadinessCheck>;
  /** A check slower than this fails with "timed out". Default 2 s. */
  checkTimeoutMs?: number;
}

export interface RunningManagementServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface ReadinessFailure {
  check: string;
  reason: string;
}

export async function startManagementServer(
  options: ManagementServerOptions,
): Promise<RunningManagementServer> {
  const server = createServer(
    {
      headersTimeout: 5_000,
      requestTimeout: 10_000,
      keepAliveTimeout: 5_000,
      connectionsCheckingInterval: 1_000,
    },
    (req, res) =>
      void route(options, req, res).catch(() => sendJson(res, 500, error("internal", "the handler failed"))),
  );
  const host = options.host ?? "0.0.0.0";
  await listen(server, options.port ?? 8081, host);
  const port = (server.address() as AddressInfo).port;
  const urlHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Runs every check concurrently; each failure names the check and its reason. */
export async function runReadinessChecks(
  checks: Record<string, ReadinessCheck>,
  timeoutMs: number,
): Promise<ReadinessFailure[]> {
  const results = await Promise.all(
    Object.entries(checks).map(async ([check, run]): Promise<ReadinessFailure | undefined> => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve(`timed out after ${timeoutMs} ms`), timeoutMs);
      });
      try {
        const reason = await Promise.race([Promise.resolve().then(run), timeout]);
        return reason === undefined ? undefined : { check, reason };
      } catch (err) {
        return { check, reason: `check failed: ${(err as Error)?.message ?? String(err)}` };
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return results.filter((r): r is ReadinessFailure => r !== undefined);
}

async function route(
  options: ManagementServerOptions,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const path = (req.url ?? "/").split("?", 1)[0];
  const known = path === "/healthz" || path === "/readyz" || path === "/metrics";
  if (!known)
    return sendJson(res, 404, error("not-found", `no route for ${path}; try /healthz, /readyz or /metrics`));
  if (req.method !== "GET" && req.method !== "HEAD") {
    return sendJson(
      res,
      405,
      error("method-not-allowed", `${req.method} is not allowed on ${path}; use GET`),
      {
        allow: "GET, HEAD",
      },
    );
  }
  if (path === "/healthz") return sendJson(res, 200, { status: "ok" });
  if (path === "/readyz") {
    const checks = options.checks ?? {};
    const failing = await runReadinessChecks(checks, options.checkTimeoutMs ?? 2_000);
    if (failing.length === 0) return sendJson(res, 200, { status: "ready", checks: Object.keys(checks) });
    const summary = failing.map((f) => `${f.check}: ${f.reason}`).join("; ");
    return sendJson(res, 503, { ...error("not-ready", `not ready: ${summary}`), failing });
  }
  const text = await options.registry.metrics();
  res.writeHead(200, {
    "content-type": options.registry.contentType,
    "content-length": Buffer.byteLength(text),
  });
  res.end(req.method === "HEAD" ? undefined : text);
}

function error(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
  });
  res.end(res.req.method === "HEAD" ? undefined : text);
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}
