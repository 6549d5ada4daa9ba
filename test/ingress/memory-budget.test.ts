/**
 * Finding 2 of issue 17: 400 CloudEvents of ~1 MB were accepted and took Patchbay from 150 MB to 630 MB.
 * Here a real ingress in front of a real router (in its own process, so its RSS is its own) whose only
 * notifier's receiver is down: ~1 MB events are accepted until the memory budget is reached, then
 * refused with 503; once the receiver is back, every accepted event is delivered.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fork, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { estimateEventBytes, type MemoryUse } from "../../src/router/index.ts";
import { json } from "./fakes.ts";

const MIB = 1024 * 1024;
const BUDGET = 16 * MIB;
/** Far more than the budget: without it, every one of these would be held. */
const ATTEMPTS = 300;

interface Measure {
  rss: number;
  memory: MemoryUse;
  delivered: number;
}

function megabyteEvent(i: number): string {
  return JSON.stringify({
    specversion: "1.0",
    id: `big-${i}`,
    source: "alerts",
    type: "dev.example.big",
    time: "2024-05-01T12:00:00Z",
    data: "x".repeat(MIB - 200),
  });
}

function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(1)} MiB`;
}

function ask<T>(child: ChildProcess, message: string): Promise<T> {
  const reply = once(child, "message") as Promise<[T]>;
  child.send(message);
  return reply.then(([value]) => value);
}

function post(url: string, body: string): Promise<Response> {
  return fetch(`${url}/events`, {
    method: "POST",
    headers: { "content-type": "application/cloudevents+json" },
    body,
  });
}

test("beyond the memory budget /events answers 503 with Retry-After; accepted events are delivered later", async (t) => {
  const child = fork(fileURLToPath(new URL("./memory-budget-server.ts", import.meta.url)), {
    env: { ...process.env, MEMORY_BUDGET_BYTES: String(BUDGET) },
  });
  t.after(() => {
    child.kill();
  });
  const [{ url }] = (await once(child, "message")) as [{ url: string }];
  const before = await ask<Measure>(child, "measure");

  const accepted: string[] = [];
  let acceptedBytes = 0;
  let refusal: Response | undefined;
  for (let i = 0; i < ATTEMPTS && refusal === undefined; i++) {
    const body = megabyteEvent(i);
    const response = await post(url, body);
    if (response.status !== 202) {
      refusal = response;
      break;
    }
    await response.arrayBuffer();
    accepted.push(`big-${i}`);
    acceptedBytes += body.length;
  }
  assert.ok(refusal, `no 503 after ${ATTEMPTS} events of 1 MiB with a budget of 16 MiB`);
  assert.equal(refusal.status, 503);
  assert.equal(refusal.headers.get("retry-after"), "5");
  const error = ((await json(refusal)) as { error: { code: string; message: string } }).error;
  assert.equal(error.code, "memory-budget-exceeded");
  assert.match(error.message, /memory budget is 16\.0 MiB \(PATCHBAY_MEMORY_BUDGET\)/);

  // Accepted exactly until the next would not fit; the router accounts each at its body's length.
  const next = megabyteEvent(accepted.length);
  assert.equal(estimateEventBytes(JSON.parse(next)), next.length);
  assert.ok(acceptedBytes <= BUDGET && acceptedBytes + next.length > BUDGET, String(acceptedBytes));
  const full = await ask<Measure>(child, "measure");
  assert.equal(full.memory.bytes, acceptedBytes);

  // Keep flooding while the receiver is down: every further event is refused, and the server's RSS
  // levels off (what reading the refused bodies leaves in the allocator is reused, not added to).
  const flood = async (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const response = await post(url, megabyteEvent(i));
      assert.equal(response.status, 503);
      await response.arrayBuffer();
    }
    return ask<Measure>(child, "measure");
  };
  const half = await flood(accepted.length + 1, ATTEMPTS / 2);
  const flooded = await flood(ATTEMPTS / 2, ATTEMPTS);
  const grown = flooded.rss - before.rss;
  t.diagnostic(
    `server RSS: +${mib(half.rss - before.rss)} after ${ATTEMPTS / 2} MiB offered, +${mib(grown)} after ${ATTEMPTS} MiB; ${accepted.length} events (${mib(full.memory.bytes)}) held`,
  );
  assert.ok(
    flooded.rss - half.rss < BUDGET,
    `RSS still growing: +${mib(flooded.rss - half.rss)} in the second half`,
  );
  // Without the budget all 300 MiB would be held (more, parsed); with it, well under half of that.
  assert.ok(grown < (ATTEMPTS / 2) * MIB, `server RSS grew by ${mib(grown)} for ${ATTEMPTS} MiB offered`);
  assert.equal(flooded.memory.bytes, full.memory.bytes);

  await ask(child, "receiver-up");
  const deadline = Date.now() + 20_000;
  let delivered = 0;
  while (Date.now() < deadline && delivered < accepted.length) {
    delivered = (await ask<Measure>(child, "measure")).delivered;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.deepEqual(await ask<string[]>(child, "delivered-ids"), accepted);
  assert.equal((await ask<Measure>(child, "measure")).memory.bytes, 0);
  // Room again: the next event is accepted.
  const again = await post(url, megabyteEvent(ATTEMPTS));
  assert.equal(again.status, 202);
});
