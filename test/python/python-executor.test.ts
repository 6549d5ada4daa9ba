/**
 * A plugin in another language from proto/ alone: examples/python-executor, a Python executor on
 * Debian's python3-grpcio with code Debian's protoc and grpc_python_plugin generated from proto/. Called
 * directly over gRPC as the host calls it (handshake line, health, Describe with the protocol version
 * and the config schema), then run by the real `patchbay local` through the process runtime and called
 * through /commands. The committed generated code must be what generate.sh produces from proto/ today.
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import {
  ExecuteErrorCode,
  HealthCheckResponse_ServingStatus,
  HealthClient,
  PluginKind,
  protocolIncompatibility,
  type DescribeResponse,
  type ExecuteResponse,
  type HealthCheckResponse,
} from "@patchbay/sdk/protocol";
import { executorClient, unary } from "../../plugins/testing/index.ts";
import { startPatchbayLocal, type PatchbayLocal } from "../support/patchbay-local.ts";
import { waitFor } from "../support/wait.ts";

const run = promisify(execFile);
const example = path.resolve("examples/python-executor");
// Debian's python3, where python3-grpcio lives (another python3 may come first on PATH).
const PYTHON = "/usr/bin/python3";

async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && !entry.parentPath.includes("__pycache__"))
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)))
    .sort();
}

it("examples/python-executor/generated is up to date with proto/ (run its generate.sh if this fails)", async () => {
  const fresh = await mkdtemp(path.join(tmpdir(), "patchbay-python-proto-"));
  try {
    await run(path.join(example, "generate.sh"), [fresh]);
    const files = await filesUnder(fresh);
    assert.deepEqual(files, [
      "health_pb2.py",
      "health_pb2_grpc.py",
      "patchbay/v1/executor_pb2.py",
      "patchbay/v1/executor_pb2_grpc.py",
      "patchbay/v1/plugin_pb2.py",
      "patchbay/v1/plugin_pb2_grpc.py",
    ]);
    assert.deepEqual(
      await filesUnder(path.join(example, "generated")),
      files,
      "generated files differ in name",
    );
    for (const file of files) {
      const [want, have] = await Promise.all([
        readFile(path.join(fresh, file), "utf8"),
        readFile(path.join(example, "generated", file), "utf8"),
      ]);
      assert.ok(want === have, `${file} is stale: run examples/python-executor/generate.sh`);
    }
  } finally {
    await rm(fresh, { recursive: true, force: true });
  }
});

describe("the Python executor, called over gRPC as the host calls it", () => {
  let child: ReturnType<typeof spawn>;
  let handshake: string;
  let address: string;
  let stderr = "";

  before(async () => {
    child = spawn(PYTHON, [path.join(example, "executor.py")], {
      env: { ...process.env, PATCHBAY_PLUGIN_ADDRESS: "127.0.0.1:0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(child, "exit").then(() => {
      throw new Error(`executor.py exited before its handshake:\n${stderr}`);
    });
    [handshake] = (await Promise.race([once(createInterface({ input: child.stdout! }), "line"), exited])) as [
      string,
    ];
    address = /^PATCHBAY_PLUGIN\|1\|tcp\|(127\.0\.0\.1:\d+)\|grpc$/.exec(handshake)?.[1] ?? "";
  });

  after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await once(child, "exit");
    }
  });

  it("prints the handshake line with protocol major 1 and the bound address", () => {
    assert.match(handshake, /^PATCHBAY_PLUGIN\|1\|tcp\|127\.0\.0\.1:\d+\|grpc$/);
    assert.notEqual(address, "127.0.0.1:0");
  });

  it("serves grpc.health.v1: SERVING for the server and the executor service, NOT_FOUND otherwise", async () => {
    const health = new HealthClient(address, grpc.credentials.createInsecure());
    try {
      for (const service of ["", "patchbay.v1.Executor"]) {
        const answer = await unary<HealthCheckResponse>((m, o, cb) => health.check({ service }, m, o, cb));
        assert.equal(answer.status, HealthCheckResponse_ServingStatus.SERVING, `service '${service}'`);
      }
      await assert.rejects(
        unary<HealthCheckResponse>((m, o, cb) => health.check({ service: "patchbay.v1.Source" }, m, o, cb)),
        { code: grpc.status.NOT_FOUND },
      );
    } finally {
      health.close();
    }
  });

  it("answers Describe with protocol version 1, its kind and the JSON Schema of its config", async () => {
    const client = executorClient(address);
    try {
      const described = await unary<DescribeResponse>((m, o, cb) => client.describe({}, m, o, cb));
      assert.equal(protocolIncompatibility(described.protocolVersion), undefined);
      assert.deepEqual(described.protocolVersion, { major: 1, minor: 0 });
      assert.equal(described.kind, PluginKind.PLUGIN_KIND_EXECUTOR);
      assert.deepEqual([described.name, described.version], ["py-echo", "1.0.0"]);
      assert.deepEqual(JSON.parse(described.configSchemaJson), {
        type: "object",
        properties: { upperCase: { type: "boolean", default: false, description: "shout the answer" } },
        additionalProperties: false,
      });
      const executed = await unary<ExecuteResponse>((m, o, cb) =>
        client.execute(
          {
            command: "pyecho a b",
            args: ["pyecho", "a", "b"],
            prefix: "pyecho",
            configJson: "{}",
            context: undefined,
          },
          m,
          o,
          cb,
        ),
      );
      assert.deepEqual(
        [executed.output, executed.errorCode],
        ["a b", ExecuteErrorCode.EXECUTE_ERROR_CODE_OK],
      );
    } finally {
      client.close();
    }
  });

  it("exits 0 on SIGTERM", async () => {
    const exited = once(child, "exit") as Promise<[number | null]>;
    child.kill("SIGTERM");
    const [code] = await exited;
    assert.equal(code, 0, stderr);
  });
});

describe("the Python executor under patchbay local, called through /commands", () => {
  let manifests: string;
  let patchbay: PatchbayLocal;

  before(async () => {
    manifests = await mkdtemp(path.join(tmpdir(), "patchbay-python-local-"));
    // The example's own manifest, its workingDir made absolute; and the same plugin with a config its
    // declared schema refuses, which Patchbay must report instead of using.
    const manifest = await readFile(path.join(example, "patchbay/py-echo.yaml"), "utf8");
    const here = manifest.replace("workingDir: ..", `workingDir: ${JSON.stringify(example)}`);
    await writeFile(path.join(manifests, "py-echo.yaml"), here);
    await writeFile(
      path.join(manifests, "py-broken.yaml"),
      here
        .replace("name: py-echo", "name: py-broken")
        .replace('prefixes: ["pyecho"]', 'prefixes: ["pybroken"]')
        .replace("upperCase: true", 'upperCase: "yes"'),
    );
    patchbay = await startPatchbayLocal(manifests);
  });

  after(async () => {
    await patchbay?.stop();
    if (manifests) await rm(manifests, { recursive: true, force: true });
  });

  it("runs the command with the manifest's config (upperCase) and answers usage errors as 400", async () => {
    const answer = await waitFor(
      async () => {
        const attempt = await patchbay.command("pyecho hello from python");
        return attempt.httpStatus !== 503 && attempt;
      },
      { what: "py-echo to be ready", timeoutMs: 20_000 },
    );
    assert.deepEqual(answer, {
      httpStatus: 200,
      body: { executor: "py-echo", status: "ok", output: "HELLO FROM PYTHON", truncated: false },
    });
    const usage = await patchbay.command("pyecho");
    assert.equal(usage.httpStatus, 400);
    assert.equal(usage.body.error?.message, "usage: pyecho <text>");
  });

  it("refuses a config the plugin's declared schema does not accept, saying why", async () => {
    const refused = await waitFor(
      async () => {
        const attempt = await patchbay.command("pybroken x");
        return /ConfigInvalid/.test(attempt.body.error?.message ?? "") && attempt;
      },
      { what: "py-broken's config to be refused", timeoutMs: 20_000 },
    );
    assert.equal(refused.httpStatus, 503);
    assert.match(refused.body.error!.message, /config\.upperCase must be boolean/);
  });

  it("lists the plugin's Help in the built-in help", async () => {
    const help = await patchbay.command("help");
    assert.equal(help.httpStatus, 200);
    assert.match(help.body.output ?? "", /py-echo <text> — answers with <text> \(a plugin in Python\)\./);
  });

  it("stops the Python process with patchbay local", async () => {
    const pids = [...patchbay.stderr().matchAll(/"message":"plugin process ready","pid":(\d+)/g)].map((m) =>
      Number(m[1]),
    );
    assert.equal(pids.length, 2);
    assert.equal(await patchbay.stop(), 0);
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), { code: "ESRCH" });
  });
});
