/**
 * One error shape for every answer that is not a success, whoever produced it:
 *   { "error": { "code": "unknown-source", "message": "no SourcePlugin is named \"x\"" } }
 * `code` is stable and machine-readable (kebab-case); `message` is for people and names the problem.
 */
import type { ServerResponse } from "node:http";

export interface ErrorBody {
  error: { code: string; message: string };
}

export class HttpError extends Error {
  override name = "HttpError";
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;

  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

export function sendJson(
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
  });
  res.end(text);
}

export function sendError(res: ServerResponse, error: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, error.status, errorBody(error.code, error.message), error.headers);
}

/** Maps anything thrown inside a handler (including express's own errors) onto the error shape. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  const e = err as { status?: unknown; statusCode?: unknown; type?: unknown; message?: unknown };
  const status =
    typeof e?.status === "number" ? e.status : typeof e?.statusCode === "number" ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    // Errors that express or its routers raise for bad requests (e.g. a malformed %-escape in the URL).
    const code = status === 413 ? "payload-too-large" : status === 404 ? "not-found" : "bad-request";
    return new HttpError(status, code, typeof e.message === "string" ? e.message : "bad request");
  }
  return new HttpError(500, "internal", "the server failed to handle the request; it has been logged");
}
