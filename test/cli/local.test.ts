/**
 * `patchbay local` and `patchbay exec` as a user runs them: the real CLI, real plugin processes, real
 * HTTP. Events arrive as JSON lines on stdout; logs go to stderr.
 */
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { waitFor } from "../support/wait.ts";

const CLI = path.resolve("src/cli/main.ts");
const runCli = promisify(execFile);

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await runCli(process.execPath, [CLI, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("patchbay local with the sample plugins", () => {
  let dir: string;
  let local: ChildProcess;
  let stdout = "";
  let stderr = "";
  let url = "";

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "patchbay-local-"));
    await cp("config/local", dir, { recursive: true });
    // Faster beats, and one broken manifest that must be reported without stopping the rest.
    const heartbeat = await readFile("config/local/heartbeat.yaml", "utf8");
    await writeFile(
      path.join(dir, "heartbeat.yaml"),
      heartbeat.replace("intervalSeconds: 2", "intervalSeconds: 0.1"),
    );
    await writeFile(
      path.join(dir, "broken.yaml"),
      "apiVersion: patchbay.dev/v1alpha1\nkind: ExecutorPlugin\nmetadata: {name: broken}\nspec:\n  prefixes: ['Bad Prefix']\n  runtime: {process: {command: [node, x.ts]}, external: {address: 'a:1'}}\n",
    );
    local = spawn(process.execPath, [CLI, "local", "--dir", dir, "--port", "0", "--management-port", "0"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    local.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    local.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    url = await waitFor(() => /"ingress":"(http:\/\/[^"]+)"/.exec(stderr)?.[1], {
      what: "the ingress URL in the log",
    });
  });

  after(async () => {
    if (local.exitCode === null) {
      local.kill("SIGKILL");
      await once(local, "exit");
    }
    await rm(dir, { recursive: true, force: true });
  });

  const events = () =>
    stdout
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { id: string; source: string; type: string; data?: unknown });

  it("prints heartbeat events as JSON lines within seconds", async () => {
    const beat = await waitFor(() => events().find((event) => event.source === "heartbeat"), {
      what: "a heartbeat",
    });
    assert.equal(beat.type, "dev.patchbay.heartbeat");
  });

  it("reports a broken manifest by file and problem, and runs the others", () => {
    assert.match(
      stderr,
      /broken\.yaml#1: ExecutorPlugin 'broken': spec\.runtime: set exactly one runtime mode: pod, sidecar, external or process/,
    );
    assert.match(
      stderr,
      /ExecutorPlugin 'broken': spec\.prefixes\[0\]: a prefix is one or more lower-case words/,
    );
  });

  it("delivers a CloudEvent posted to /events to the log notifier", async () => {
    const post = () =>
      fetch(`${url}/events`, {
        method: "POST",
        headers: { "content-type": "application/cloudevents+json" },
        body: JSON.stringify({
          specversion: "1.0",
          id: "cli-test-1",
          source: "demo",
          type: "com.example.test",
          data: { n: 1 },
        }),
      });
    // Until the demo source's plugin has connected, the ingress answers 503 (and routes nothing).
    const first = await post();
    if (first.status === 503) {
      const body = (await first.json()) as { error: { code: string } };
      assert.equal(body.error.code, "source-not-ready");
      await waitFor(async () => (await post()).status === 202, { what: "the demo source to accept events" });
    } else {
      assert.equal(first.status, 202);
    }
    const delivered = await waitFor(() => events().find((event) => event.id === "cli-test-1"), {
      what: "the posted event",
    });
    assert.deepEqual(delivered.data, { n: 1 });
    // Refused attempts were not routed: the event is printed exactly once.
    assert.equal(events().filter((event) => event.id === "cli-test-1").length, 1);
  });

  it("answers `patchbay exec` through the echo executor, by prefix and by alias", async () => {
    await waitFor(async () => (await cli("exec", "--url", url, "echo ready")).code === 0, {
      what: "echo to be ready",
    });
    const answer = await cli("exec", "--url", url, "echo hello world");
    assert.deepEqual([answer.code, answer.stdout], [0, "hello world\n"]);
    const alias = await cli("exec", "--url", url, "say", "hi");
    assert.deepEqual([alias.code, alias.stdout], [0, "hi\n"]);
  });

  it("exits 1 with the reason for a command no executor handles", async () => {
    const answer = await cli("exec", "--url", url, "kubectl get pods");
    assert.equal(answer.code, 1);
    assert.match(answer.stderr, /no executor handles "kubectl"/);
  });

  it("shuts down on SIGTERM: exit 0 and its plugin processes stopped", async () => {
    const pids = [...stderr.matchAll(/"message":"plugin process ready","pid":(\d+)/g)].map((match) =>
      Number(match[1]),
    );
    assert.equal(pids.length, 3, "expected the three sample plugin processes to have started");
    local.kill("SIGTERM");
    const [code] = (await once(local, "exit")) as [number];
    assert.equal(code, 0);
    assert.match(stderr, /"message":"stopped"/);
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), { code: "ESRCH" });
  });
});

describe("patchbay exec without a running Patchbay, and usage errors", () => {
  it("exits 3 and says where it looked when nothing listens", async () => {
    // A port that was just free: connection refused, not one of fetch's blocked ports.
    const server = createServer().listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as AddressInfo;
    server.close();
    const answer = await cli("exec", "--url", `http://127.0.0.1:${port}`, "echo hi");
    assert.equal(answer.code, 3);
    assert.equal(
      answer.stderr,
      `patchbay: cannot reach Patchbay at http://127.0.0.1:${port} (ECONNREFUSED). Is 'npm start' running?\n`,
    );
  });

  it("exits 2 with usage for a missing command, an unknown subcommand or a bad flag", async () => {
    for (const args of [["exec"], ["frobnicate"], ["local", "--port", "http"], ["exec", "--bogus", "x"]]) {
      const answer = await cli(...args);
      assert.equal(answer.code, 2, `patchbay ${args.join(" ")} exited ${answer.code}`);
      assert.match(answer.stderr, /^patchbay: .+\nRun 'patchbay help' for usage\.\n$/);
    }
  });
});
