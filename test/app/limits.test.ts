import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { DEFAULT_LIMITS, limitsFromEnv, parseByteSize } from "../../src/app/index.ts";

describe("data plane limits", () => {
  test("sane defaults under the manager's 512Mi memory limit", () => {
    assert.deepEqual(DEFAULT_LIMITS, {
      memoryBudgetBytes: 128 * 1024 * 1024,
      notifierQueueBytes: 32 * 1024 * 1024,
      executorConcurrency: 8,
      executorQueue: 32,
    });
  });

  test("read from the environment, in Kubernetes' size notation", () => {
    assert.deepEqual(
      limitsFromEnv({
        PATCHBAY_MEMORY_BUDGET: "256Mi",
        PATCHBAY_NOTIFIER_QUEUE_BYTES: "1048576",
        PATCHBAY_EXECUTOR_CONCURRENCY: "2",
        PATCHBAY_EXECUTOR_QUEUE: "0",
      }),
      {
        memoryBudgetBytes: 256 * 1024 * 1024,
        notifierQueueBytes: 1048576,
        executorConcurrency: 2,
        executorQueue: 0,
      },
    );
    assert.deepEqual(limitsFromEnv({ PATCHBAY_MEMORY_BUDGET: "" }), {});
    assert.equal(parseByteSize("1Gi", "x"), 1024 ** 3);
    assert.equal(parseByteSize("500M", "x"), 500e6);
    assert.equal(parseByteSize("64Ki", "x"), 65536);
  });

  test("a bad value names the variable and what it expects", () => {
    assert.throws(
      () => limitsFromEnv({ PATCHBAY_MEMORY_BUDGET: "lots" }),
      /^LimitError: PATCHBAY_MEMORY_BUDGET must be a size in bytes such as 134217728, 128Mi or 1Gi, not "lots"$/,
    );
    assert.throws(
      () => limitsFromEnv({ PATCHBAY_NOTIFIER_QUEUE_BYTES: "0" }),
      /PATCHBAY_NOTIFIER_QUEUE_BYTES must be a size/,
    );
    assert.throws(
      () => limitsFromEnv({ PATCHBAY_EXECUTOR_CONCURRENCY: "0" }),
      /PATCHBAY_EXECUTOR_CONCURRENCY must be a whole number >= 1, not "0"/,
    );
    assert.throws(
      () => limitsFromEnv({ PATCHBAY_EXECUTOR_QUEUE: "-1" }),
      /PATCHBAY_EXECUTOR_QUEUE must be a whole number >= 0/,
    );
    assert.throws(() => limitsFromEnv({ PATCHBAY_EXECUTOR_QUEUE: "2.5" }), /not "2\.5"/);
  });

  test("patchbay local refuses a bad flag as a usage error", () => {
    const cli = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
    const run = spawnSync(process.execPath, [cli, "local", "--memory-budget", "lots"], { encoding: "utf8" });
    assert.equal(run.status, 2);
    assert.match(
      run.stderr,
      /patchbay: --memory-budget must be a size in bytes such as 134217728, 128Mi or 1Gi, not "lots"/,
    );
  });
});
