/**
 * A 3-server JetStream cluster on loopback (routes between them, stream replicas 3): one server is
 * killed (SIGKILL) while events are being published and delivered. Every event whose publish was
 * acknowledged is stored once and delivered; producers retry what was refused, as Knative's contract
 * (503 → retry) has them do.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { BusUnavailableError, JetStreamBus } from "../../src/bus/index.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { NatsCluster } from "../support/nats-server.ts";
import { event, recorder, waitFor } from "./helpers.ts";

const log = createLogger("bus-cluster-test", "error");
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const EVENTS = 400;
const PRODUCERS = 8;
/** A refused publish is tried again at most this often; a failover takes seconds, not minutes. */
const MAX_ATTEMPTS = 60;

test("3 servers, replicas 3: a server killed under load loses nothing that was acknowledged", async () => {
  const cluster = await NatsCluster.start(3);
  cleanups.push(() => cluster.dispose());
  const servers = cluster.servers.map((server) => server.url);
  const open = () =>
    JetStreamBus.open({ servers, replicas: 3, publishTimeoutMs: 2_000, setupTimeoutMs: 20_000, log });
  const publisher = await open();
  cleanups.push(() => publisher.close());
  const consumer = await open();
  cleanups.push(() => consumer.close());
  const delivered = recorder();
  await consumer.subscribe("hook", delivered.handler, { maxInFlight: 16, ackWaitMs: 5_000 });

  const acknowledged = new Set<string>();
  const refusals: string[] = [];
  let next = 0;
  let killed = false;
  const produce = async () => {
    while (next < EVENTS) {
      const id = `c${next++}`;
      for (let attempt = 1; ; attempt++) {
        try {
          await publisher.publish(event(id));
          acknowledged.add(id);
          break;
        } catch (error) {
          assert.ok(error instanceof BusUnavailableError, String(error));
          refusals.push(error.message);
          assert.ok(attempt < MAX_ATTEMPTS, `${id} refused ${attempt} times: ${error.message}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      if (!killed && acknowledged.size >= EVENTS / 4) {
        killed = true;
        // The first server: the stream's leader or a follower, and maybe the one a client is on.
        await cluster.servers[0]!.kill();
      }
    }
  };
  await Promise.all(Array.from({ length: PRODUCERS }, produce));
  assert.ok(killed);
  assert.equal(acknowledged.size, EVENTS);

  // Stored once each: the retries of publishes that had in fact been stored were duplicates.
  const stats = await waitFor(
    async () => {
      const read = await publisher.stats().catch(() => undefined);
      return read && read.storedMessages === EVENTS ? read : undefined;
    },
    { timeoutMs: 10_000, what: `the stream to report ${EVENTS} messages` },
  );
  assert.equal(stats.storedMessages, EVENTS);
  await waitFor(() => new Set(delivered.ids()).size === EVENTS, {
    timeoutMs: 20_000,
    what: `all ${EVENTS} delivered (have ${new Set(delivered.ids()).size})`,
  });
  for (const id of acknowledged)
    assert.ok(delivered.ids().includes(id), `${id} was acknowledged, never delivered`);
  const repeats = delivered.deliveries.length - EVENTS;
  // At least once: an ack the killed server took with it may bring an event again, never lose one.
  console.log(
    `cluster: ${EVENTS} acknowledged and delivered; ${refusals.length} publishes refused during the failover; ${repeats} deliveries repeated`,
  );
});
