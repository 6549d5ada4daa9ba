/** Reading request bodies and writing JSON and Status responses. */

import type { IncomingMessage, ServerResponse } from "node:http";
import { parse as parseYaml } from "yaml";
import { ApiError, badRequest, failure, unsupportedMediaType } from "./errors.ts";

/** The real server's default request body limit. */
const maxBodyBytes = 3 * 1024 * 1024;

export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > maxBodyBytes) {
      throw failure(413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728");
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export function mediaType(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

/** Decodes a body as JSON, or YAML for `*yaml` media types; protobuf and others are a 415. */
export function decodeBody(text: string, contentType: string | undefined, allowEmpty = false): unknown {
  const type = mediaType(contentType);
  if (text.trim() === "") {
    if (allowEmpty) return undefined;
    throw badRequest("the request body is empty");
  }
  if (type.includes("protobuf") || type.includes("cbor")) {
    throw unsupportedMediaType(contentType ?? "", ["application/json", "application/yaml"]);
  }
  try {
    return type.endsWith("yaml") ? (parseYaml(text) as unknown) : (JSON.parse(text) as unknown);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw badRequest(`couldn't get version/kind; json parse error: ${detail}`);
  }
}

export function sendJson(
  response: ServerResponse,
  code: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(code, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-cache, private",
    ...headers,
  });
  response.end(text);
}

export function sendError(
  response: ServerResponse,
  error: unknown,
  headers: Record<string, string> = {},
): void {
  const apiError =
    error instanceof ApiError
      ? error
      : failure(
          500,
          "InternalError",
          `Internal error occurred: ${error instanceof Error ? error.message : String(error)}`,
        );
  if (response.headersSent) {
    response.destroy();
    return;
  }
  sendJson(response, apiError.code, apiError.status, headers);
}
