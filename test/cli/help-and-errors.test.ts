/**
 * The real `patchbay` binary: --help on every command lists its options and environment variables and
 * starts nothing; wrong input stops with a clear message and a non-zero exit.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";

const CLI = path.resolve("src/cli/main.ts");
const runCli = promisify(execFile);

async function cli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    // A timeout: a command that starts a server instead of answering would otherwise hang the test.
    const { stdout, stderr } = await runCli(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...env },
      timeout: 20_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const HELP: Record<string, { options: string[]; environment: string[] }> = {
  local: {
    options: [
      "--dir DIR",
      "--host HOST",
      "--port PORT",
      "--management-port PORT",
      "--output FORMAT",
      "--memory-budget SIZE",
      "--notifier-queue-bytes SIZE",
      "--executor-concurrency N",
      "--executor-queue N",
      "--cluster-name NAME",
      "-h, --help",
    ],
    environment: [
      "PATCHBAY_OUTPUT",
      "PATCHBAY_LOG_LEVEL",
      "PATCHBAY_LOG_FORMAT",
      "PATCHBAY_INGRESS_TOKENS",
      "PATCHBAY_CLUSTER_NAME",
    ],
  },
  operator: {
    options: ["-h, --help"],
    environment: [
      "KUBECONFIG",
      "PATCHBAY_STARTUP_TIMEOUT_SECONDS",
      "PATCHBAY_WATCH_NAMESPACE",
      "PATCHBAY_INGRESS_TOKENS_SECRET",
      "PATCHBAY_CLUSTER_NAME",
      "PATCHBAY_LOG_LEVEL",
      "PATCHBAY_LOG_FORMAT",
    ],
  },
  exec: {
    options: ["--url URL", "--token TOKEN", "-h, --help"],
    environment: ["PATCHBAY_URL", "PATCHBAY_TOKEN"],
  },
  version: { options: ["-h, --help"], environment: [] },
};

describe("patchbay --help", () => {
  for (const [command, { options, environment }] of Object.entries(HELP)) {
    for (const flag of ["--help", "-h"]) {
      it(`patchbay ${command} ${flag}: its options and environment, exit 0, nothing started`, async () => {
        // The operator with no cluster and local on a busy port would fail or hang if they started.
        const answer = await cli([command, flag], { KUBECONFIG: "/nonexistent/kubeconfig" });
        assert.equal(answer.code, 0, answer.stderr);
        assert.equal(answer.stderr, "");
        assert.match(answer.stdout, new RegExp(`^Usage: patchbay ${command}\\b`));
        for (const option of options) assert.match(answer.stdout, new RegExp(`^  ${option} `, "m"), option);
        for (const name of environment) assert.match(answer.stdout, new RegExp(`^  ${name} `, "m"), name);
        if (environment.length === 0) assert.doesNotMatch(answer.stdout, /^Environment:/m);
      });
    }
  }

  it("patchbay help <command> is patchbay <command> --help", async () => {
    const [viaHelp, viaFlag] = await Promise.all([cli(["help", "local"]), cli(["local", "--help"])]);
    assert.equal(viaHelp.code, 0);
    assert.equal(viaHelp.stdout, viaFlag.stdout);
  });

  it("patchbay --help, patchbay help and -h list every command and exit 0; no command exits 2", async () => {
    for (const args of [["--help"], ["help"], ["-h"]]) {
      const answer = await cli(args);
      assert.equal(answer.code, 0);
      for (const command of [...Object.keys(HELP), "help"])
        assert.match(answer.stdout, new RegExp(`^  ${command} `, "m"), command);
    }
    const bare = await cli([]);
    assert.equal(bare.code, 2);
    assert.match(bare.stdout, /^Usage: patchbay <command>/);
  });
});

describe("patchbay local: wrong input stops it", () => {
  const usageError = (message: string) =>
    new RegExp(`^patchbay: ${message}\\nRun 'patchbay help' for usage\\.\\n$`);

  it("exits 2 for a --dir that does not exist", async () => {
    const answer = await cli(["local", "--dir", "/nonexistent/manifests"]);
    assert.equal(answer.code, 2);
    assert.match(answer.stderr, usageError("--dir /nonexistent/manifests: no such folder"));
  });

  it("exits 2 for a --dir that holds no manifests, or is a file", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "patchbay-empty-"));
    try {
      await writeFile(path.join(dir, "notes.txt"), "not a manifest");
      const empty = await cli(["local", "--dir", dir]);
      assert.equal(empty.code, 2);
      assert.match(
        empty.stderr,
        usageError(
          `--dir ${dir} holds no manifests \\(\\*\\.yaml or \\*\\.yml .*\\); try --dir config/local`,
        ),
      );
      const file = await cli(["local", "--dir", path.join(dir, "notes.txt")]);
      assert.equal(file.code, 2);
      assert.match(file.stderr, usageError(`--dir ${dir}/notes\\.txt: not a folder`));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("exits 2 for an unknown --output, PATCHBAY_OUTPUT or PATCHBAY_LOG_FORMAT", async () => {
    const flag = await cli(["local", "--output", "yaml"]);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, usageError('--output must be one of text, json, not "yaml"'));
    const env = await cli(["local"], { PATCHBAY_OUTPUT: "pretty" });
    assert.equal(env.code, 2);
    assert.match(env.stderr, usageError('PATCHBAY_OUTPUT must be one of text, json, not "pretty"'));
    const logFormat = await cli(["local"], { PATCHBAY_LOG_FORMAT: "logfmt" });
    assert.equal(logFormat.code, 2);
    assert.match(logFormat.stderr, usageError('PATCHBAY_LOG_FORMAT must be one of json, text, not "logfmt"'));
  });

  it("exits 2 for a malformed --cluster-name or PATCHBAY_CLUSTER_NAME, naming the setting", async () => {
    const flag = await cli(["local", "--cluster-name", "prod eu"]);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /^patchbay: --cluster-name must be 1 to 63 letters, .* \(got "prod eu"\)\n/);
    const env = await cli(["local"], { PATCHBAY_CLUSTER_NAME: "prod/eu" });
    assert.equal(env.code, 2);
    assert.match(
      env.stderr,
      /^patchbay: PATCHBAY_CLUSTER_NAME must be 1 to 63 letters, .* \(got "prod\/eu"\)\n/,
    );
  });
});
