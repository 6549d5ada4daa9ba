/**
 * Plugin faults on the whole data plane, real processes and sockets: a source killed with SIGKILL
 * mid-stream twenty times, an executor that never answers, and a source that floods.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { PluginState } from "../../src/hub/index.ts";
import { waitFor } from "../support/wait.ts";
import { contractBreach, identityHolds, metricsDisagreement, scrape, send } from "./support/http.ts";
import { allReady, startPlane, webhookNotifier, type Plane } from "./support/plane.ts";
import { startCountingReceiver, type CountingReceiver } from "./support/receiver.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const planes: Plane[] = [];
const receivers: CountingReceiver[] = [];
after(async () => {
  await Promise.all(planes.map((plane) => plane.stop()));
  await Promise.all(receivers.map((receiver) => receiver.close()));
});

async function setUp(options: Parameters<typeof startPlane>[0], receiver?: CountingReceiver) {
  const plane = await startPlane(options);
  planes.push(plane);
  if (receiver) receivers.push(receiver);
  return plane;
}

describe("a source plugin killed with SIGKILL mid-stream", () => {
  it("goes not-ready with a reason and back to Ready 20 times, and no event id reaches the notifier twice", async (t) => {
    const receiver = await startCountingReceiver();
    const plane = await setUp(
      {
        sources: [
          {
            name: "beats",
            file: "plugins/heartbeat/main.ts",
            config: { intervalSeconds: 0.02, maxReplay: 100_000 },
          },
        ],
        notifiers: [webhookNotifier("hook", receiver.url)],
      },
      receiver,
    );
    const transitions: PluginState[] = [];
    plane.dataPlane.hub.on("state", (state) => {
      if (state.kind === "source" && state.name === "beats") transitions.push(state);
    });
    await allReady(plane, [{ kind: "source", name: "beats" }]);
    const plugin = plane.plugins.get("beats")!;
    const KILLS = 20;
    const outages: { reason: string; message: string; recoveredMs: number }[] = [];
    for (let kill = 0; kill < KILLS; kill++) {
      const delivered = receiver.accepted.size;
      await waitFor(() => receiver.accepted.size >= delivered + 3, {
        what: `events flowing before kill ${kill + 1}`,
      });
      const pid = plugin.process.pid!;
      const seen = transitions.length;
      const killedAt = Date.now();
      process.kill(pid, "SIGKILL");
      const down = await waitFor(() => transitions.slice(seen).find((state) => state.phase !== "Ready"), {
        what: `a not-ready state after kill ${kill + 1}`,
      });
      await waitFor(
        () =>
          plugin.process.pid !== pid &&
          transitions
            .slice(seen)
            .some((state, i, later) => state.phase === "Ready" && later.indexOf(down) < i),
        { what: `Ready again after kill ${kill + 1}` },
      );
      outages.push({ reason: down.reason, message: down.message, recoveredMs: Date.now() - killedAt });
    }
    const lastDelivered = receiver.accepted.size;
    await waitFor(() => receiver.accepted.size >= lastDelivered + 5, {
      what: "events after the last restart",
    });

    assert.equal(plugin.process.restarts, KILLS);
    for (const [i, outage] of outages.entries()) {
      assert.match(outage.reason, /^[A-Z][A-Za-z]+$/, `kill ${i + 1}: reason ${outage.reason}`);
      assert.ok(outage.message.length > 10, `kill ${i + 1}: message "${outage.message}"`);
    }
    assert.deepEqual(receiver.duplicates(), [], "an event id was delivered twice");
    // Resume from the last delivered id: no beat was lost either.
    const ticks = [...receiver.accepted.keys()]
      .map((id) => Number(id.replace("beat-", "")))
      .sort((a, b) => a - b);
    for (let i = 1; i < ticks.length; i++)
      assert.equal(
        ticks[i],
        ticks[i - 1]! + 1,
        `${ticks[i]! - ticks[i - 1]! - 1} beats lost after tick ${ticks[i - 1]}`,
      );
    const stats = plane.dataPlane.router.stats();
    assert.ok(identityHolds(stats.notifiers.hook!), JSON.stringify(stats.notifiers.hook));
    const reasons = [...new Set(outages.map((outage) => outage.reason))].join(", ");
    const slowest = Math.max(...outages.map((outage) => outage.recoveredMs));
    t.diagnostic(
      `${KILLS} kills; reasons seen: ${reasons}; slowest recovery ${slowest} ms; ${ticks.length} events delivered, ` +
        `${stats.duplicates} duplicates absorbed by the router, 0 at the receiver`,
    );
  });
});

describe("an executor whose Execute never returns", () => {
  it("answers 504 with a clear error within its timeout while other commands keep working", async (t) => {
    const plane = await setUp({
      executors: [
        {
          name: "hang",
          file: "test/reliability/plugins/hang-executor.ts",
          prefixes: ["hang"],
          timeoutSeconds: 1,
        },
        { name: "echo", file: "plugins/echo/main.ts", prefixes: ["echo"] },
      ],
    });
    await allReady(plane, [
      { kind: "executor", name: "hang" },
      { kind: "executor", name: "echo" },
    ]);
    const command = (line: string) =>
      send(plane.url, {
        path: "/commands",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ command: line }),
      });
    const started = Date.now();
    const hung = Promise.all(
      [1, 2, 3].map((n) => command(`hang forever ${n}`).then((a) => ({ ...a, ms: Date.now() - started }))),
    );
    let echoed = 0;
    let slowestEcho = 0;
    while (Date.now() - started < 800) {
      const before = Date.now();
      const answer = await command(`echo still here ${echoed}`);
      slowestEcho = Math.max(slowestEcho, Date.now() - before);
      assert.equal(answer.status, 200, answer.body);
      assert.equal((JSON.parse(answer.body) as { output: string }).output, `still here ${echoed}`);
      echoed++;
    }
    for (const answer of await hung) {
      assert.equal(answer.status, 504, answer.body);
      assert.equal(contractBreach(answer, [504]), undefined);
      const body = JSON.parse(answer.body) as { executor: string; error: { code: string; message: string } };
      assert.equal(body.executor, "hang");
      assert.equal(body.error.code, "timeout");
      assert.match(body.error.message, /did not answer within 1000 ms/);
      assert.ok(answer.ms >= 1_000 && answer.ms < 3_000, `answered after ${answer.ms} ms`);
    }
    // The executor itself still serves commands that do finish.
    const ping = await command("hang ping");
    assert.equal(ping.status, 200, ping.body);
    assert.ok(echoed >= 5, `only ${echoed} echo commands answered meanwhile`);
    t.diagnostic(
      `3 hung commands → 504 after ~1 s; ${echoed} echo commands answered meanwhile (slowest ${slowestEcho} ms)`,
    );
  });
});

describe("a source that floods events", () => {
  it("is paced by backpressure, the host's memory stays bounded, and every drop is counted", async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), "patchbay-flood-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const countFile = path.join(dir, "produced");
    const receiver = await startCountingReceiver({ kind: "slow", delayMs: 2 });
    const plane = await setUp(
      {
        sources: [
          {
            name: "flood",
            file: "test/reliability/plugins/flood-source.ts",
            env: { FLOOD_COUNT_FILE: countFile },
          },
        ],
        notifiers: [webhookNotifier("sink", receiver.url, { queueSize: 200 })],
      },
      receiver,
    );
    await allReady(plane, [{ kind: "source", name: "flood" }]);
    const router = plane.dataPlane.router;
    await waitFor(() => router.stats().received > 10_000, {
      what: "the flood to reach 10,000 events",
      timeoutMs: 20_000,
    });
    gc();
    const heapAt = [process.memoryUsage().heapUsed];
    const rssAt = [process.memoryUsage().rss];
    const samples: { received: number; produced: number }[] = [];
    const RUN_MS = 4_000;
    const started = Date.now();
    while (Date.now() - started < RUN_MS) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const produced = Number(await readFile(countFile, "utf8").catch(() => "0"));
      samples.push({ received: router.stats().received, produced });
      gc();
      heapAt.push(process.memoryUsage().heapUsed);
      rssAt.push(process.memoryUsage().rss);
    }
    const stats = router.stats();
    const sink = stats.notifiers.sink!;
    const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
    const heapGrowth = Math.max(...heapAt) - heapAt[0]!;
    const rssGrowth = Math.max(...rssAt) - rssAt[0]!;
    // Backpressure: the plugin produces only as fast as the host takes events (else it would buffer).
    const window = (key: "received" | "produced") => samples.at(-1)![key] - samples[0]![key];
    const rate = Math.round((window("received") * 1000) / (RUN_MS - 500));
    const producedRate = Math.round((window("produced") * 1000) / (RUN_MS - 500));
    t.diagnostic(
      `flood: ${stats.received} events received (${rate}/s), ${sink.delivered} delivered, ${sink.droppedByReason.overflow} dropped (overflow), ` +
        `plugin produced ${producedRate}/s; heap growth ${mib(heapGrowth)} MiB, RSS growth ${mib(rssGrowth)} MiB over ${RUN_MS} ms`,
    );
    assert.ok(sink.droppedByReason.overflow > 1_000, `drops counted: ${JSON.stringify(sink)}`);
    assert.ok(sink.queued <= 200, `queue bounded: ${sink.queued}`);
    assert.ok(identityHolds(sink), JSON.stringify(sink));
    assert.ok(
      Math.abs(producedRate - rate) < rate * 0.15,
      `the plugin produced ${producedRate}/s while the host took ${rate}/s`,
    );
    assert.ok(heapGrowth < 64 * 1024 * 1024, `heap grew ${mib(heapGrowth)} MiB`);
    assert.ok(rssGrowth < 128 * 1024 * 1024, `RSS grew ${mib(rssGrowth)} MiB`);
    // Stop the flood, let the queue empty, then /metrics must agree with stats() exactly.
    await plane.plugins.get("flood")!.stop();
    await waitFor(
      () => router.stats().notifiers.sink!.queued === 0 && router.stats().notifiers.sink!.inFlight === 0,
      {
        what: "the queue to empty",
      },
    );
    assert.deepEqual(metricsDisagreement(router.stats(), await scrape(plane.managementUrl)), []);
  });
});
