/**
 * A webhook receiver on 127.0.0.1 that counts deliveries per event id and can misbehave on demand:
 * answer 500, never answer, answer 429 with Retry-After, or accept.
 */
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Behaviour =
  | { kind: "accept" }
  | { kind: "fail"; status: number }
  | { kind: "hang" }
  | { kind: "throttle"; retryAfterSeconds: number }
  /** Accepts after a pause, for slow platforms. */
  | { kind: "slow"; delayMs: number };

export interface Attempt {
  id: string;
  at: number;
  answered: number | "hung";
  /** How long the answer took; a client with a shorter deadline has given up and will retry. */
  answeredAfterMs?: number;
}

export interface CountingReceiver {
  readonly url: string;
  /** Every request, in arrival order, with what it was answered. */
  readonly attempts: Attempt[];
  /** How many times each id was accepted (answered 2xx). */
  readonly accepted: Map<string, number>;
  behave(behaviour: Behaviour): void;
  /** Ids accepted more than once. */
  duplicates(): string[];
  /** Ids accepted more than once where no earlier acceptance came later than `deadlineMs` (the client saw it). */
  duplicatesWithin(deadlineMs: number): string[];
  close(): Promise<void>;
}

export async function startCountingReceiver(
  initial: Behaviour = { kind: "accept" },
): Promise<CountingReceiver> {
  let behaviour = initial;
  const attempts: Attempt[] = [];
  const accepted = new Map<string, number>();
  const hung = new Set<ServerResponse>();
  const accept = (id: string, response: ServerResponse, attempt: Attempt) => {
    attempt.answered = 200;
    attempt.answeredAfterMs = Date.now() - attempt.at;
    accepted.set(id, (accepted.get(id) ?? 0) + 1);
    response.writeHead(200).end("ok");
  };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      let id = "";
      try {
        id = String((JSON.parse(Buffer.concat(chunks).toString("utf8")) as { id?: unknown }).id);
      } catch {
        id = "<not json>";
      }
      const attempt: Attempt = { id, at: Date.now(), answered: "hung" };
      attempts.push(attempt);
      const now = behaviour;
      switch (now.kind) {
        case "accept":
          accept(id, response, attempt);
          return;
        case "slow":
          setTimeout(() => {
            if (!response.destroyed) accept(id, response, attempt);
          }, now.delayMs);
          return;
        case "fail":
          attempt.answered = now.status;
          response.writeHead(now.status).end("failing on purpose");
          return;
        case "throttle":
          attempt.answered = 429;
          response.writeHead(429, { "retry-after": String(now.retryAfterSeconds) }).end("slow down");
          return;
        case "hang":
          hung.add(response);
          response.on("close", () => hung.delete(response));
          return;
      }
    });
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    attempts,
    accepted,
    behave(next) {
      behaviour = next;
    },
    duplicates: () => [...accepted].filter(([, n]) => n > 1).map(([id]) => id),
    duplicatesWithin(deadlineMs) {
      const late = new Set<string>();
      const seen = new Set<string>();
      const duplicated = new Set<string>();
      for (const attempt of attempts) {
        if (attempt.answered !== 200) continue;
        if (seen.has(attempt.id) && !late.has(attempt.id)) duplicated.add(attempt.id);
        seen.add(attempt.id);
        if ((attempt.answeredAfterMs ?? 0) >= deadlineMs) late.add(attempt.id);
      }
      return [...duplicated];
    },
    async close() {
      for (const response of hung) response.destroy();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
