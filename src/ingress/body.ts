/** Reads a request body into memory, refusing anything larger than the limit without buffering it. */
import type { IncomingMessage } from "node:http";
import { HttpError } from "./http-errors.ts";

export function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > limitBytes) {
    return Promise.reject(tooLarge(limitBytes, Number(declared)));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("aborted", onAborted);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        cleanup();
        // Stop reading; the answer closes the connection so the rest is never buffered.
        req.pause();
        reject(tooLarge(limitBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new HttpError(400, "bad-request", `could not read the request body: ${err.message}`));
    };
    const onAborted = () => onError(new Error("the client aborted the request"));
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("aborted", onAborted);
  });
}

function tooLarge(limitBytes: number, declared?: number): HttpError {
  const size = declared === undefined ? "more than that" : `${declared} bytes`;
  return new HttpError(
    413,
    "payload-too-large",
    `the request body is limited to ${limitBytes} bytes; this one is ${size}`,
    { connection: "close" },
  );
}
