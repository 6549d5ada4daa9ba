/**
 * /sources/<name>/<path…>: the request goes to the source plugin's HandleExternalRequest (this is how an
 * Alertmanager webhook reaches the Prometheus source); the plugin's answer goes back to the caller and
 * the events it produced go to the router. Every method is forwarded: the plugin decides what it serves.
 */
import type { IncomingMessage } from "node:http";
import { knownSource } from "./admission.ts";
import { readBody } from "./body.ts";
import type { Handler } from "./context.ts";
import { HttpError } from "./http-errors.ts";
import { publishAll } from "./publish.ts";

/** Never forwarded: credentials for Patchbay itself, and headers about this hop only. */
const WITHHELD_REQUEST_HEADERS = new Set([
  "authorization",
  "proxy-authorization",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "host",
  "content-length",
]);
const WITHHELD_RESPONSE_HEADERS = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "trailer",
  "upgrade",
  "content-length",
]);

const callFailures: Record<string, { status: number; code: string }> = {
  unavailable: { status: 503, code: "source-unavailable" },
  unsupported: { status: 404, code: "external-requests-unsupported" },
  timeout: { status: 504, code: "source-timeout" },
};

/** Mounted at /sources, so req.url is "/<name>/<path…>?<query>". */
export const handleSourceRequest: Handler = async (ctx, req, res) => {
  ctx.authenticate(req);
  const { name, path } = splitUrl(req.url ?? "/");
  const source = knownSource(ctx.sources, name);
  if (!source.acceptsExternalRequests) {
    throw new HttpError(
      404,
      "external-requests-unsupported",
      `source "${name}" does not accept external requests (its plugin does not implement HandleExternalRequest)`,
    );
  }
  const body = await readBody(req, ctx.maxBodyBytes);
  let answer;
  try {
    answer = await ctx.sources.handleExternalRequest(
      name,
      { method: req.method ?? "GET", path, headers: forwardedHeaders(req), body },
      ctx.externalRequestTimeoutMs,
    );
  } catch (err) {
    const failure = callFailures[(err as { code?: string }).code ?? ""] ?? {
      status: 502,
      code: "source-failed",
    };
    const message = (err as Error).message ?? String(err);
    if (failure.status !== 404)
      ctx.log.warn(`source:${name}`, "external request failed", { source: name, error: message });
    throw new HttpError(
      failure.status,
      failure.code,
      `source "${name}" could not handle the request: ${message}`,
    );
  }
  if (!Number.isInteger(answer.status) || answer.status < 200 || answer.status > 599) {
    throw new HttpError(
      502,
      "source-failed",
      `source "${name}" answered with an invalid HTTP status ${answer.status}`,
    );
  }
  // The plugin's answer goes back only once its events are stored: a 503 otherwise, so the caller retries.
  await publishAll(ctx.sink, answer.events);
  for (let i = 0; i < answer.events.length; i++) ctx.metrics.events.inc({ source: name, mode: "external" });
  const headers: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(answer.headers)) {
    if (!WITHHELD_RESPONSE_HEADERS.has(key.toLowerCase())) headers[key] = value;
  }
  headers["content-length"] = answer.body.length;
  res.writeHead(answer.status, headers);
  res.end(answer.body);
};

function splitUrl(url: string): { name: string; path: string } {
  const match = /^\/([^/?]*)(.*)$/s.exec(url);
  const rawName = match?.[1] ?? "";
  let rest = match?.[2] ?? "";
  if (rawName === "") {
    throw new HttpError(404, "not-found", "name a source: /sources/<name>/<path>");
  }
  let name: string;
  try {
    name = decodeURIComponent(rawName);
  } catch {
    throw new HttpError(
      400,
      "bad-request",
      `the source name in the URL has a malformed percent-encoding: ${rawName}`,
    );
  }
  if (!rest.startsWith("/")) rest = `/${rest}`;
  return { name, path: rest };
}

function forwardedHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || WITHHELD_REQUEST_HEADERS.has(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return headers;
}
