/**
 * A notifier's receiver misbehaves in turn — 500, then no answer at all, then 429 with Retry-After —
 * and recovers. Events come in through the real ingress from a real source plugin; every one of them
 * ends delivered, failed or dropped, the accounting identity holds at every sample, and /metrics agrees.
 */
import assert from "node:assert/strict";
import { after, it } from "node:test";
import { waitFor } from "../support/wait.ts";
import { identityHolds, keepAlive, metricsDisagreement, postEvent, scrape } from "./support/http.ts";
import { allReady, startPlane, webhookNotifier, type Plane } from "./support/plane.ts";
import { startCountingReceiver, type CountingReceiver } from "./support/receiver.ts";

let plane: Plane | undefined;
let receiver: CountingReceiver | undefined;
after(async () => {
  await plane?.stop();
  await receiver?.close();
});

it("500, timeout, 429 with Retry-After, recovery: every event accounted for, exactly", async (t) => {
  receiver = await startCountingReceiver({ kind: "fail", status: 500 });
  plane = await startPlane({
    sources: [{ name: "demo", file: "plugins/cloudevents/main.ts" }],
    notifiers: [
      webhookNotifier("flaky", receiver.url, {
        queueSize: 20,
        maxRetries: 3,
        initialBackoffMs: 20,
        maxBackoffMs: 50,
        timeoutSeconds: 0.3,
      }),
    ],
  });
  await allReady(plane, [{ kind: "source", name: "demo" }]);
  const router = plane.dataPlane.router;
  const agent = keepAlive();
  t.after(() => agent.destroy());

  // The identity must hold at every moment, not only at the end.
  const broken: string[] = [];
  let samples = 0;
  const sampler = setInterval(() => {
    const stats = router.stats().notifiers.flaky!;
    samples++;
    if (!identityHolds(stats)) broken.push(JSON.stringify(stats));
  }, 5);
  t.after(() => clearInterval(sampler));

  let posted = 0;
  const postBatch = async (count: number) => {
    for (let i = 0; i < count; i++) {
      const id = `evt-${++posted}`;
      const answer = await postEvent(
        plane!.url,
        { specversion: "1.0", id, source: "demo", type: "com.example.fault" },
        agent,
      );
      assert.equal(answer.status, 202, answer.body);
    }
  };
  const stats = () => router.stats().notifiers.flaky!;

  // 1. 500 for every attempt: each event is retried maxRetries times, then counted failed.
  await postBatch(10);
  await waitFor(() => stats().failed === 10, { what: "the first ten events to fail" });
  assert.equal(receiver.attempts.length, 40, "1 attempt + 3 retries for each of 10 events");

  // 2. No answer at all: each attempt times out; 30 events overflow a queue of 20.
  receiver.behave({ kind: "hang" });
  const hangStart = receiver.attempts.length;
  await postBatch(30);
  assert.ok(stats().droppedByReason.overflow >= 9, JSON.stringify(stats()));
  await waitFor(() => stats().failed >= 11, { what: "an event to fail on timeouts", timeoutMs: 5_000 });
  assert.ok(
    receiver.attempts.slice(hangStart).every((attempt) => attempt.answered === "hung"),
    "the receiver answered nothing in this phase",
  );

  // 3. 429 with Retry-After: 1 — the next attempt waits at least a second.
  receiver.behave({ kind: "throttle", retryAfterSeconds: 1 });
  const throttleStart = receiver.attempts.length;
  await waitFor(() => receiver!.attempts.slice(throttleStart).filter((a) => a.answered === 429).length >= 2, {
    what: "two throttled attempts",
    timeoutMs: 5_000,
  });

  // 4. Recovery: everything still queued is delivered.
  receiver.behave({ kind: "accept" });
  await waitFor(() => stats().queued === 0 && stats().inFlight === 0, {
    what: "the queue to empty",
    timeoutMs: 10_000,
  });
  clearInterval(sampler);

  const final = stats();
  assert.deepEqual(broken, [], `identity broken in ${broken.length} of ${samples} samples`);
  assert.equal(final.received, posted);
  assert.equal(final.received, final.delivered + final.failed + final.dropped);
  assert.equal(final.delivered, receiver.accepted.size, "delivered = distinct ids the receiver accepted");
  assert.deepEqual(receiver.duplicates(), []);
  assert.equal(final.dropped, final.droppedByReason.overflow);

  const throttled = receiver.attempts.filter((attempt) => attempt.answered === 429);
  for (const attempt of throttled) {
    const next = receiver.attempts[receiver.attempts.indexOf(attempt) + 1];
    if (next)
      assert.ok(
        next.at - attempt.at >= 990,
        `retried ${next.at - attempt.at} ms after a 429 with Retry-After: 1`,
      );
  }
  assert.deepEqual(metricsDisagreement(router.stats(), await scrape(plane.managementUrl)), []);
  t.diagnostic(
    `${posted} accepted: ${final.delivered} delivered, ${final.failed} failed, ${final.dropped} dropped (overflow); ` +
      `${receiver.attempts.length} attempts (${throttled.length} answered 429), ${final.retries} retries; identity held in all ${samples} samples`,
  );
});
