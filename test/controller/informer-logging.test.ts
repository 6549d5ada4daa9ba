/**
 * What the informer logs while the API server keeps failing: the start of the failures once, a summary
 * at most once per interval, the recovery once; every retry in between only at debug. An operator that
 * cannot reach its cluster must not write a warning per retry for as long as it runs.
 */
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { after, before, describe, it } from "node:test";
import { CoreV1Api, type V1ConfigMap } from "@kubernetes/client-node";
import winston from "winston";
import { ResourceInformer } from "../../src/controller/index.ts";
import { startKubeApiDouble, type KubeApiDouble } from "../support/kube-api/index.ts";
import { waitFor } from "../support/wait.ts";

interface Entry {
  level: string;
  message: string;
  failuresInARow?: number;
}

function capturingLogger() {
  const stream = new PassThrough();
  const entries: Entry[] = [];
  stream.on("data", (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n").filter(Boolean)) entries.push(JSON.parse(line) as Entry);
  });
  const log = winston.createLogger({
    level: "debug",
    format: winston.format.json(),
    transports: [new winston.transports.Stream({ stream })],
  });
  return { log, entries };
}

describe("ResourceInformer logging while the API server fails", () => {
  let api: KubeApiDouble;
  before(async () => {
    api = await startKubeApiDouble();
  });
  after(async () => {
    await api.close();
  });

  it("warns when failures begin, sums them up per interval, and says when they end", async (t) => {
    api.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "flaky" } });
    const kubeConfig = api.kubeConfig();
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const { log, entries } = capturingLogger();
    const failures = api.failNext({
      method: "GET",
      pathPattern: "/namespaces/flaky/configmaps",
      status: 503,
      times: 30,
    });
    const informer = new ResourceInformer<V1ConfigMap>({
      kubeConfig,
      path: "/api/v1/namespaces/flaky/configmaps",
      list: () => core.listNamespacedConfigMap({ namespace: "flaky" }),
      log,
      restartBackoff: { initialMs: 2, maxMs: 20 },
      failureSummaryIntervalMs: 150,
    });
    t.after(() => informer.stop());
    const started = performance.now();
    await informer.start();
    const elapsedMs = performance.now() - started;
    assert.equal(failures.remaining(), 0, "all thirty failures were met");
    await waitFor(() => entries.find((entry) => entry.message === "watch recovered"), {
      what: "the recovery to be logged",
    });

    const warnings = entries.filter((entry) => entry.level === "warn");
    const begun = warnings.filter((entry) => entry.message === "restarting watch");
    const summaries = warnings.filter((entry) => entry.message === "watch still failing");
    assert.equal(begun.length, 1, "the start of the failures is logged once");
    // One summary per interval at most: the run of failures lasted elapsedMs.
    assert.ok(
      summaries.length <= Math.ceil(elapsedMs / 150),
      `${summaries.length} summaries in ${elapsedMs} ms`,
    );
    assert.ok(summaries.every((entry) => (entry.failuresInARow ?? 0) > 1));
    assert.equal(warnings.length, begun.length + summaries.length, "no other warning");
    const retriesAtDebug = entries.filter(
      (entry) => entry.level === "debug" && entry.message === "restarting watch",
    );
    assert.equal(
      retriesAtDebug.length + begun.length + summaries.length,
      30,
      "every failure is logged, most at debug",
    );
    const recovered = entries.filter((entry) => entry.message === "watch recovered");
    assert.deepEqual(
      recovered.map((entry) => [entry.level, entry.failuresInARow]),
      [["info", 30]],
    );
  });
});
