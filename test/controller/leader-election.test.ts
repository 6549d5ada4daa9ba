/**
 * Leader election on a coordination.k8s.io/v1 Lease in the API double, over real HTTP with the real
 * client-node, with short durations: lease 1 s, renew deadline 0.7 s, retry period 0.2 s.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Registry } from "prom-client";
import { LeaderElector, type LeaderElectionOptions } from "../../src/controller/index.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { startKubeApiDouble, type KubeApiDouble } from "../support/kube-api/index.ts";
import { waitFor } from "../support/wait.ts";

const log = createLogger("leader-election-test", "error");
const timings = { leaseDurationMs: 1000, renewDeadlineMs: 700, retryPeriodMs: 200 };

interface Candidate {
  identity: string;
  elector: LeaderElector;
  registry: Registry;
  /** Aborting it cancels run(): with releaseOnCancel it releases the lease, without it acts like a crash. */
  stop: AbortController;
  running: Promise<void>;
  log: string[];
  startedAt: number[];
  stoppedAt: number[];
  leadingSignals: AbortSignal[];
}

describe("LeaderElector against the API double", () => {
  let api: KubeApiDouble;
  let leaseCount = 0;
  const candidates: Candidate[] = [];

  before(async () => {
    api = await startKubeApiDouble();
  });
  after(async () => {
    for (const candidate of candidates) candidate.stop.abort();
    await Promise.all(candidates.map((candidate) => candidate.running));
    await api.close();
  });

  function lease(name: string) {
    return api.get({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", namespace: "default", name }) as
      | { spec?: { holderIdentity?: string; leaseTransitions?: number; leaseDurationSeconds?: number } }
      | undefined;
  }

  function candidate(identity: string, lease: string, extra: Partial<LeaderElectionOptions> = {}): Candidate {
    const registry = new Registry();
    const elector = new LeaderElector({
      kubeConfig: api.kubeConfig(),
      log,
      registry,
      namespace: "default",
      name: lease,
      identity,
      ...timings,
      ...extra,
    });
    const stop = new AbortController();
    const c: Candidate = {
      identity,
      elector,
      registry,
      stop,
      running: Promise.resolve(),
      log: [],
      startedAt: [],
      stoppedAt: [],
      leadingSignals: [],
    };
    c.running = elector.run(
      {
        onStartedLeading: (signal) => {
          c.log.push("started");
          c.startedAt.push(performance.now());
          c.leadingSignals.push(signal);
        },
        onStoppedLeading: () => {
          c.log.push("stopped");
          c.stoppedAt.push(performance.now());
        },
        onNewLeader: (leader) => c.log.push(`leader ${leader}`),
      },
      stop.signal,
    );
    candidates.push(c);
    return c;
  }

  function newLease() {
    return `patchbay-leader-${++leaseCount}`;
  }

  it("of two candidates exactly one leads, and the Lease names it", async () => {
    const name = newLease();
    const a = candidate("replica-a", name);
    const b = candidate("replica-b", name);
    const leaders = () => [a, b].filter((c) => c.elector.isLeader);
    const leader = await waitFor(() => leaders()[0], { what: "a leader" });
    // Watch several retry periods: never two leaders, never a change of leader.
    const deadline = performance.now() + 5 * timings.retryPeriodMs;
    while (performance.now() < deadline) {
      assert.deepEqual(
        leaders().map((c) => c.identity),
        [leader.identity],
      );
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const follower = leader === a ? b : a;
    assert.equal(lease(name)?.spec?.holderIdentity, leader.identity);
    assert.equal(lease(name)?.spec?.leaseDurationSeconds, 1);
    assert.deepEqual(
      follower.log,
      [`leader ${leader.identity}`],
      "the follower saw the leader and did not lead",
    );
    assert.match(
      await leader.registry.metrics(),
      new RegExp(`leader_election_master_status\\{name="${name}"\\} 1`),
    );
    assert.match(
      await follower.registry.metrics(),
      new RegExp(`leader_election_master_status\\{name="${name}"\\} 0`),
    );
  });

  it("on cancellation the leader releases the lease and the other takes over at once", async () => {
    const name = newLease();
    const a = candidate("replica-a", name);
    await waitFor(() => a.elector.isLeader, { what: "a to lead" });
    const b = candidate("replica-b", name);
    await waitFor(() => b.log.includes("leader replica-a"), { what: "b to see a lead" });
    const transitions = lease(name)?.spec?.leaseTransitions ?? 0;

    const cancelledAt = performance.now();
    a.stop.abort();
    await a.running;
    assert.deepEqual(a.log.slice(-1), ["stopped"]);
    assert.equal(a.leadingSignals[0]?.aborted, true, "the leading signal aborted");
    await waitFor(() => b.elector.isLeader, { what: "b to take over" });
    const takeover = b.startedAt[0]! - cancelledAt;
    assert.ok(
      takeover < timings.leaseDurationMs * 0.6,
      `took ${Math.round(takeover)} ms: it waited for expiry instead of seeing the release`,
    );
    assert.equal(lease(name)?.spec?.holderIdentity, "replica-b");
    assert.equal(
      lease(name)?.spec?.leaseTransitions,
      transitions + 1,
      "leaseTransitions counts the change of holder",
    );
  });

  it("when the leader stops renewing without releasing (a crash), the other takes over once the lease expires", async () => {
    const name = newLease();
    const a = candidate("replica-a", name, { releaseOnCancel: false });
    await waitFor(() => a.elector.isLeader, { what: "a to lead" });
    const b = candidate("replica-b", name);
    await waitFor(() => b.log.includes("leader replica-a"), { what: "b to see a lead" });
    // Let b observe a few renewals so its expiry clock follows a's.
    await new Promise((resolve) => setTimeout(resolve, 3 * timings.retryPeriodMs));

    const crashedAt = performance.now();
    a.stop.abort();
    await a.running;
    assert.equal(lease(name)?.spec?.holderIdentity, "replica-a", "nothing was released");
    await waitFor(() => b.elector.isLeader, { what: "b to take over", timeoutMs: 5000 });
    const takeover = b.startedAt[0]! - crashedAt;
    // b's expiry clock starts when b last SAW the record change: after a's last renewal (≤ one retry
    // period before the crash) and at most one of b's own (jittered) retry periods later; b then
    // checks every retry period. So: lease − retry ≤ takeover ≤ lease + 2 × 1.2 × retry (+ slack).
    const retry = timings.retryPeriodMs;
    assert.ok(takeover >= timings.leaseDurationMs - retry - 20, `took over too early: ${takeover} ms`);
    assert.ok(takeover <= timings.leaseDurationMs + 2.4 * retry + 150, `took ${takeover} ms`);
    assert.equal(lease(name)?.spec?.holderIdentity, "replica-b");
  });

  it("a leader whose renewals fail past the renew deadline steps down, and leads again once they succeed", async () => {
    const name = newLease();
    const a = candidate("replica-a", name);
    await waitFor(() => a.elector.isLeader, { what: "a to lead" });
    const failing = api.failNext({
      method: "PUT",
      pathPattern: `/namespaces/default/leases/${name}`,
      status: 500,
      times: 1000,
    });
    const failingFrom = performance.now();
    await waitFor(() => a.log.includes("stopped"), { what: "a to step down", timeoutMs: 3000 });
    const steppedDownAfter = a.stoppedAt[0]! - failingFrom;
    assert.equal(a.stop.signal.aborted, false, "nobody cancelled a: it lost the lease");
    assert.equal(a.elector.isLeader, false);
    assert.equal(a.leadingSignals[0]?.aborted, true, "the work started for the term is told to stop");
    assert.ok(
      steppedDownAfter >= timings.renewDeadlineMs - timings.retryPeriodMs,
      `stepped down after ${steppedDownAfter} ms`,
    );
    assert.ok(
      steppedDownAfter <= timings.renewDeadlineMs + timings.retryPeriodMs + 150,
      `after ${steppedDownAfter} ms`,
    );
    assert.match(
      await a.registry.metrics(),
      new RegExp(`leader_election_master_status\\{name="${name}"\\} 0`),
    );

    failing.cancel();
    await waitFor(() => a.elector.isLeader, { what: "a to lead again" });
    assert.deepEqual(
      a.log.filter((entry) => !entry.startsWith("leader")),
      ["started", "stopped", "started"],
    );
  });

  it("rejects timings that cannot work", () => {
    const base = { kubeConfig: api.kubeConfig(), log, namespace: "default", name: "x", identity: "i" };
    assert.throws(
      () => new LeaderElector({ ...base, leaseDurationMs: 1000, renewDeadlineMs: 1000, retryPeriodMs: 100 }),
      /leaseDurationMs must be greater than renewDeadlineMs/,
    );
    assert.throws(
      () => new LeaderElector({ ...base, leaseDurationMs: 1000, renewDeadlineMs: 500, retryPeriodMs: 450 }),
      /renewDeadlineMs must be greater than retryPeriodMs/,
    );
  });
});
