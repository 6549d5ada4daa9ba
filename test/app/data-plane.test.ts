import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { it } from "node:test";
import winston from "winston";
import { DataPlane } from "../../src/app/index.ts";
import { LocalSecretResolver } from "../../src/secrets/index.ts";

/** Starts a data plane on `host` with `tokens`, stops it, and returns the warnings it logged. */
async function warningsOf(host: string, tokens: string[]): Promise<string[]> {
  const lines: string[] = [];
  const stream = new PassThrough();
  stream.on("data", (chunk: Buffer) => lines.push(...chunk.toString().split("\n").filter(Boolean)));
  const log = winston.createLogger({
    format: winston.format.json(),
    transports: [new winston.transports.Stream({ stream })],
  });
  const plane = new DataPlane({
    ingress: { host, port: 0, tokens },
    management: { host: "127.0.0.1", port: 0 },
    secrets: new LocalSecretResolver(),
    log,
  });
  await plane.start();
  await plane.stop(100);
  return lines
    .map((line) => JSON.parse(line) as { level: string; message: string })
    .filter((entry) => entry.level === "warn")
    .map((entry) => entry.message);
}

it("warns when the ingress listens beyond this machine without bearer tokens, and only then", async () => {
  const open = await warningsOf("0.0.0.0", []);
  assert.equal(open.length, 1, JSON.stringify(open));
  assert.match(
    open[0]!,
    /the ingress has no bearer tokens: \/events, \/sources and \/commands answer anyone/,
  );
  assert.deepEqual(await warningsOf("0.0.0.0", ["s3cret"]), []);
  assert.deepEqual(await warningsOf("127.0.0.1", []), []);
});
