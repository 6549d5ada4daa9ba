/**
 * Two operator replicas (one leader) against the Kubernetes API double, sharing one real nats-server
 * through PATCHBAY_EVENT_BUS's option: the same id posted to each replica's ingress is notified once,
 * and the follower pulls deliveries too (before the bus, each replica had its own dedup window and
 * queues: 20 ids posted to both → 40 deliveries).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { RunningOperator } from "../../src/operator/index.ts";
import type { KubeApiDouble } from "../support/kube-api/index.ts";
import { NatsServer } from "../support/nats-server.ts";
import { startPluginProcess, type StartedPlugin } from "../support/plugin-process.ts";
import {
  plugin,
  runOperator,
  startCluster,
  startWebhookReceiver,
  type WebhookReceiver,
} from "../operator/harness.ts";
import { waitFor } from "./helpers.ts";

let nats: NatsServer;
let api: KubeApiDouble;
let cloudevents: StartedPlugin;
let receiver: WebhookReceiver;
const replicas: RunningOperator[] = [];

before(async () => {
  [nats, api, cloudevents, receiver] = await Promise.all([
    NatsServer.start(),
    startCluster(),
    startPluginProcess("plugins/cloudevents/main.ts"),
    startWebhookReceiver(),
  ]);
  const leader = await runOperator(api, "replica-a", new Map(), { eventBus: nats.url });
  await waitFor(() => leader.isLeader, { what: "replica-a to lead" });
  replicas.push(leader, await runOperator(api, "replica-b", new Map(), { eventBus: nats.url }));
  api.create(plugin("SourcePlugin", "inbox", { runtime: { external: { address: cloudevents.address } } }));
  api.create(plugin("Notifier", "hook", { type: "webhook", webhook: { url: { value: receiver.url } } }));
});

after(async () => {
  await Promise.all(replicas.map((replica) => replica.stop(500)));
  await cloudevents?.stop();
  await receiver?.close();
  await api?.close();
  await nats?.dispose();
});

function post(replica: RunningOperator, id: string): Promise<Response> {
  return fetch(`${replica.dataPlane.ingressUrl}/events`, {
    method: "POST",
    headers: { "content-type": "application/cloudevents+json" },
    body: JSON.stringify({ specversion: "1.0", id, source: "inbox", type: "dev.example.deployed" }),
  });
}

async function acked(replica: RunningOperator): Promise<number> {
  const text = await (await fetch(`${replica.dataPlane.managementUrl}/metrics`)).text();
  const line = text.split("\n").find((row) => row.startsWith('patchbay_bus_acked_total{notifier="hook"}'));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

test("each id posted to both replicas' ingress is delivered once; both replicas deliver", async (t) => {
  const [leader, follower] = replicas as [RunningOperator, RunningOperator];
  // Both replicas ready: the source known and the notifier's consumer pulled from.
  for (const [replica, id] of [
    [leader, "probe-leader"],
    [follower, "probe-follower"],
  ] as const) {
    await waitFor(async () => (await post(replica, id)).status === 202, {
      what: "the inbox source on each replica",
      timeoutMs: 20_000,
    });
  }
  const ids = Array.from({ length: 60 }, (_, i) => `both-${i}`);
  for (const id of ids) {
    assert.equal((await post(leader, id)).status, 202);
    assert.equal((await post(follower, id)).status, 202);
  }
  const expected = [...ids, "probe-leader", "probe-follower"];
  await waitFor(() => expected.every((id) => receiver.events.some((event) => event.id === id)), {
    what: "every id delivered",
    timeoutMs: 30_000,
  });
  // A second delivery would come within moments of the first.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const counts = new Map<string, number>();
  for (const event of receiver.events) counts.set(event.id, (counts.get(event.id) ?? 0) + 1);
  assert.deepEqual(
    [...counts].filter(([, count]) => count > 1),
    [],
  );
  assert.equal(receiver.events.length, expected.length);
  const [byLeader, byFollower] = [await acked(leader), await acked(follower)];
  assert.equal(byLeader + byFollower, expected.length);
  assert.ok(
    byFollower > 0 && byLeader > 0,
    `shared: ${byLeader} by the leader, ${byFollower} by the follower`,
  );
  t.diagnostic(
    `${ids.length * 2 + 2} posts of ${expected.length} ids to two replicas: ${receiver.events.length} deliveries, ` +
      `${byLeader} by the leader and ${byFollower} by the follower`,
  );
});
