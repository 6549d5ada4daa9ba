/**
 * Notifiers fed from the JetStream bus, over real sockets: a real nats-server and a real HTTP receiver
 * behind the webhook sink. Retry-After is honoured with the server holding the event, a permanent
 * failure is a dead letter, selection and filters apply, and two processes serving one notifier never
 * notify an event twice.
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, test } from "node:test";
import { BusNotifiers } from "../../src/bus/notifier-delivery.ts";
import { JetStreamBus } from "../../src/bus/index.ts";
import { WebhookSink } from "../../src/notifiers/index.ts";
import { createLogger } from "../../src/observability/logger.ts";
import type { NotifierRoute } from "../../src/router/index.ts";
import { NatsServer } from "../support/nats-server.ts";
import { event, waitFor } from "./helpers.ts";

const log = createLogger("bus-test", "error");
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Received {
  id: string;
  at: number;
}

async function receiver(
  answer: (id: string, count: number) => [number, Record<string, string>?] = () => [200],
) {
  const received: Received[] = [];
  const counts = new Map<string, number>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      const id = (JSON.parse(body) as { id: string }).id;
      const count = (counts.get(id) ?? 0) + 1;
      counts.set(id, count);
      const [status, headers] = answer(id, count);
      if (status === 200) received.push({ id, at: Date.now() });
      res.writeHead(status, headers).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, received, counts, ids: () => received.map((r) => r.id) };
}

async function setup(nats: NatsServer) {
  const bus = await JetStreamBus.open({ servers: [nats.url], log });
  cleanups.push(() => bus.close());
  const notifiers = new BusNotifiers(bus, log);
  return { bus, notifiers };
}

function route(name: string, url: string, extra: Partial<NotifierRoute> = {}): NotifierRoute {
  return {
    name,
    type: "webhook",
    sink: new WebhookSink(url),
    delivery: { maxRetries: 3, initialBackoffMs: 50, maxBackoffMs: 100, timeoutSeconds: 2 },
    ...extra,
  };
}

test("Retry-After is honoured with the event held by the bus; sources, labels and filters select", async () => {
  const nats = await NatsServer.start();
  cleanups.push(() => nats.dispose());
  const { bus, notifiers } = await setup(nats);
  const hook = await receiver((id, count) =>
    id === "slow" && count === 1 ? [503, { "retry-after": "1" }] : [200],
  );
  notifiers.setSources([{ name: "kube", labels: { team: "shop" } }, { name: "demo" }]);
  await notifiers.setNotifiers([
    route("hook", hook.url, {
      sources: { selector: { matchLabels: { team: "shop" } } },
      filter: { types: ["com.example.*"] },
    }),
  ]);
  const sent = Date.now();
  await bus.publish(event("slow", "kube"));
  await bus.publish(event("fast", "kube"));
  await bus.publish(event("other-source", "demo"));
  await bus.publish(event("other-type", "kube", { type: "dev.other" }));
  await waitFor(() => hook.received.length === 2, { what: "two deliveries" });
  // In order: "fast" waited behind the retry of "slow".
  assert.deepEqual(hook.ids(), ["slow", "fast"]);
  assert.ok(hook.received[0]!.at - sent >= 1_000, `retried after ${hook.received[0]!.at - sent} ms`);
  // The two events not selected come after "fast" and are acked unseen a moment after it was delivered.
  const stats = await waitFor(
    async () => {
      const hookStats = (await bus.stats()).subscriptions.hook!;
      return hookStats.skipped === 2 && hookStats;
    },
    { what: "the two unselected events skipped" },
  );
  assert.deepEqual([stats.acked, stats.retried, stats.skipped], [2, 1, 2]);
});

test("a permanent failure is a dead letter at once; a removed notifier delivers nothing more", async () => {
  const nats = await NatsServer.start();
  cleanups.push(() => nats.dispose());
  const { bus, notifiers } = await setup(nats);
  const hook = await receiver((id) => (id === "rejected" ? [400] : [200]));
  await notifiers.setNotifiers([route("hook", hook.url)]);
  await bus.publish(event("rejected"));
  await bus.publish(event("fine"));
  await waitFor(() => hook.received.length === 1, { what: "fine" });
  const [letter] = await bus.deadLetters({ notifier: "hook" });
  assert.equal(letter!.event.id, "rejected");
  assert.equal(letter!.attempts, 1);
  assert.match(letter!.reason, /400/);
  await notifiers.setNotifiers([]);
  await bus.publish(event("after-removal"));
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual(hook.ids(), ["fine"]);
});

test("two processes serving one notifier, each id posted to both: every event notified once", async () => {
  const nats = await NatsServer.start();
  cleanups.push(() => nats.dispose());
  const hook = await receiver();
  const first = await setup(nats);
  const second = await setup(nats);
  for (const { notifiers } of [first, second]) await notifiers.setNotifiers([route("hook", hook.url)]);
  for (let i = 0; i < 100; i++) {
    // The same id posted to both replicas: the stream's duplicate window keeps one.
    await first.bus.publish(event(`t${i}`));
    await second.bus.publish(event(`t${i}`));
  }
  await waitFor(() => hook.received.length >= 100, { what: "100 deliveries" });
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(hook.received.length, 100);
  assert.equal(new Set(hook.ids()).size, 100);
  const [a, b] = await Promise.all([first.bus.stats(), second.bus.stats()]);
  assert.equal(a.subscriptions.hook!.acked + b.subscriptions.hook!.acked, 100);
});
