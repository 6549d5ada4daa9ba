/**
 * Turning source streams off and on (what a replica does as it loses and gains leadership), against
 * real plugin processes. A second hub that always streams from the same heartbeat process is the
 * clock: "nothing arrived" means nothing arrived while it received several beats.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { PluginHub, type PluginState } from "../../src/hub/index.ts";
import { createLogger } from "../../src/observability/logger.ts";
import type { CloudEvent } from "../../src/events/cloudevent.ts";
import { startPluginProcess, type StartedPlugin } from "../support/plugin-process.ts";
import { waitFor } from "../support/wait.ts";

const log = createLogger("test", "error");
const timings = { backoffInitialMs: 50, backoffMaxMs: 500, stableAfterMs: 1_000, describeTimeoutMs: 2_000 };
// maxReplay covers the off periods, so resuming can be checked for gaps.
const BEAT = { intervalSeconds: 0.02, maxReplay: 1_000 };

function startHub(streams?: boolean) {
  const events: CloudEvent[] = [];
  const transitions: PluginState[] = [];
  const hub = new PluginHub({ log, onEvent: (event) => events.push(event), timings, streams });
  hub.on("state", (state) => transitions.push(state));
  hubs.push(hub);
  return { hub, events, transitions };
}

const hubs: PluginHub[] = [];
let heartbeat: StartedPlugin;
let prometheus: StartedPlugin;
/** Streams from the heartbeat process all along. */
let clock: ReturnType<typeof startHub>;

before(async () => {
  [heartbeat, prometheus] = await Promise.all([
    startPluginProcess("plugins/heartbeat/main.ts"),
    startPluginProcess("plugins/prometheus/main.ts"),
  ]);
  clock = startHub();
  clock.hub.upsert({ kind: "source", name: "beats", config: BEAT, address: heartbeat.address });
});

after(async () => {
  for (const hub of hubs) hub.close();
  await Promise.all([heartbeat?.stop(), prometheus?.stop()]);
});

/** Resolves once the clock hub has received `count` more beats. */
async function beatsPass(count: number): Promise<void> {
  const target = clock.events.length + count;
  await waitFor(() => clock.events.length >= target, { what: `${count} beats on the clock hub` });
}

const ticks = (events: CloudEvent[]) => events.map((event) => (event.data as { tick: number }).tick);

describe("source streams switched off and on", () => {
  it("off: the source is Ready and checked but delivers nothing; on: events flow; off again: they stop, still Ready; on: resumes without a gap", async () => {
    const { hub, events, transitions } = startHub(false);
    assert.equal(hub.streaming, false);
    hub.upsert({ kind: "source", name: "beats", config: BEAT, address: heartbeat.address });
    await waitFor(() => hub.state("source", "beats")?.phase === "Ready", { what: "Ready without a stream" });
    assert.equal(hub.state("source", "beats")?.plugin?.name, "heartbeat");
    await beatsPass(5);
    assert.equal(events.length, 0, "a replica that does not stream delivered events");

    hub.setStreaming(true);
    assert.equal(hub.streaming, true);
    await waitFor(() => events.length >= 5, { what: "events once streaming" });

    hub.setStreaming(false);
    const delivered = events.length;
    await beatsPass(5);
    assert.equal(events.length, delivered, "events arrived after streaming was turned off");
    assert.equal(hub.state("source", "beats")?.phase, "Ready");

    // A changed config makes a new connection: it inherits "off", and the last delivered id.
    hub.upsert({
      kind: "source",
      name: "beats",
      config: { ...BEAT, message: "changed" },
      address: heartbeat.address,
    });
    await waitFor(() => hub.state("source", "beats")?.phase === "Ready", { what: "Ready after the change" });
    await beatsPass(5);
    assert.equal(events.length, delivered, "the new connection streamed while streaming is off");

    hub.setStreaming(true);
    await waitFor(() => events.length >= delivered + 5, { what: "events after streaming resumed" });
    const seen = ticks(events);
    for (let i = 1; i < seen.length; i++)
      assert.equal(seen[i], seen[i - 1]! + 1, `gap or repeat after tick ${seen[i - 1]}`);
    assert.equal((events.at(-1)!.data as { message: string }).message, "changed");

    const phases = transitions.filter((state) => state.name === "beats").map((state) => state.phase);
    assert.ok(!phases.includes("Unavailable"), `phases seen: ${phases.join(", ")}`);
  });

  it("with streaming off a source still answers HandleExternalRequest", async () => {
    const { hub } = startHub(false);
    hub.upsert({ kind: "source", name: "alerts", config: {}, address: prometheus.address });
    await waitFor(() => hub.state("source", "alerts")?.phase === "Ready", { what: "prometheus Ready" });
    assert.equal(hub.state("source", "alerts")?.plugin?.acceptsExternalRequests, true);
    const answer = await hub.handleExternalRequest(
      "alerts",
      { method: "GET", path: "/", headers: {}, body: Buffer.alloc(0) },
      2_000,
    );
    assert.equal(answer.status, 405);
    assert.match(answer.body.toString(), /Alertmanager webhooks are POSTed/);
  });

  it("asks a source without a stream once per connection, and it stays Ready", async () => {
    const { hub } = startHub();
    const failedBefore = prometheus.stderr().split('"message":"stream failed"').length;
    hub.upsert({ kind: "source", name: "webhooks-only", config: {}, address: prometheus.address });
    await waitFor(() => hub.state("source", "webhooks-only")?.phase === "Ready", {
      what: "prometheus Ready",
    });
    await waitFor(() => prometheus.stderr().split('"message":"stream failed"').length > failedBefore, {
      what: "the one Stream call",
    });
    // Long enough for several backoff rounds had the hub kept asking.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal(prometheus.stderr().split('"message":"stream failed"').length - failedBefore, 1);
    assert.equal(hub.state("source", "webhooks-only")?.phase, "Ready");
  });

  it("a hub streams by default (patchbay local)", () => {
    const { hub } = startHub();
    assert.equal(hub.streaming, true);
  });
});
