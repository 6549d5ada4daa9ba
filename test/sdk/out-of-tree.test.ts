/**
 * A plugin author's path, from outside this repository: `npm pack` the SDK, install the tarball into a
 * new project in a temporary folder, copy in the template plugins from examples/plugin-template (a
 * source and an executor in plain .mjs), and have the real `patchbay local` run them as child processes
 * on the machine's own Node (the one npm runs on; older than the project's Node 24, and no type
 * stripping involved either way) — delivering the source's events and answering the executor's
 * commands through /commands.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { constants } from "node:fs";
import { access, cp, mkdir, mkdtemp, readdir, readFile, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { startPatchbayLocal, type PatchbayLocal } from "../support/patchbay-local.ts";
import { waitFor } from "../support/wait.ts";

const run = promisify(execFile);
const repository = path.resolve(".");
const template = path.join(repository, "examples/plugin-template");

/** The machine's own Node — the one npm itself runs on — rather than the project's Node 24. */
async function machineNode(): Promise<string> {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (dir === "" || path.resolve(dir).startsWith(repository + path.sep)) continue;
    const candidate = path.join(dir, "node");
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this PATH entry
    }
  }
  throw new Error("no `node` on PATH outside this repository (npm itself needs one)");
}

describe("a plugin written outside the repository against the packed @patchbay/sdk", () => {
  let project: string;
  let node: string;
  let nodeVersion: string;
  let packedFiles: string[];
  let patchbay: PatchbayLocal;

  before(async () => {
    project = await realpath(await mkdtemp(path.join(tmpdir(), "patchbay-plugin-author-")));
    assert.ok(!project.startsWith(repository + path.sep), `${project} is inside the repository`);
    node = await machineNode();
    nodeVersion = (await run(node, ["--version"])).stdout.trim();

    const packed = await run(
      "npm",
      ["pack", "--workspace", "@patchbay/sdk", "--pack-destination", project, "--json"],
      { cwd: repository },
    );
    const [tarball] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    packedFiles = tarball!.files.map((file) => file.path);

    await cp(path.join(template, "package.json"), path.join(project, "package.json"));
    await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", `./${tarball!.filename}`], {
      cwd: project,
    });
    for (const file of ["source.mjs", "executor.mjs"]) {
      await cp(path.join(template, file), path.join(project, file));
    }
    // The template's manifests say `node`, which patchbay local reads as its own Node; here they name
    // the machine's, so the plugins run on a Node other than Patchbay's.
    await mkdir(path.join(project, "patchbay"));
    for (const file of await readdir(path.join(template, "patchbay"))) {
      const manifest = await readFile(path.join(template, "patchbay", file), "utf8");
      await writeFile(
        path.join(project, "patchbay", file),
        manifest.replace(/command: \["node", /, `command: [${JSON.stringify(node)}, `),
      );
    }
    patchbay = await startPatchbayLocal(path.join(project, "patchbay"));
  });

  after(async () => {
    await patchbay?.stop();
    if (project) await rm(project, { recursive: true, force: true });
  });

  it("packs compiled JavaScript with types, source maps and the guide, without tests or build state", () => {
    for (const file of ["dist/index.js", "dist/index.d.ts", "dist/index.js.map", "dist/protocol/index.js"]) {
      assert.ok(packedFiles.includes(file), `${file} is not in the tarball`);
    }
    assert.ok(packedFiles.includes("README.md"), "the plugin author's guide is not in the tarball");
    assert.deepEqual(
      packedFiles.filter((file) => /\.test\.|tsbuildinfo/.test(file)),
      [],
      "tests or build state in the tarball",
    );
  });

  it("installs only what a plugin needs, not the operator's dependencies", async () => {
    const installed = JSON.parse(await readFile(path.join(project, "package-lock.json"), "utf8")) as {
      packages: Record<string, unknown>;
    };
    const names = Object.keys(installed.packages).map((key) => key.replace(/^.*node_modules\//, ""));
    assert.ok(names.includes("@patchbay/sdk") && names.includes("@grpc/grpc-js") && names.includes("ajv"));
    for (const operatorDependency of ["@kubernetes/client-node", "express", "winston", "prom-client"]) {
      assert.ok(!names.includes(operatorDependency), `${operatorDependency} was installed`);
    }
  });

  it("runs the plugins on the machine's own Node, which the SDK supports", async (t) => {
    t.diagnostic(`plugins run on ${node} ${nodeVersion}; Patchbay on ${process.version}`);
    const major = Number(/^v(\d+)\./.exec(nodeVersion)?.[1]);
    assert.ok(major >= 20, `the machine's Node is ${nodeVersion}; the SDK supports 20 and later`);
    const pids = await waitFor(
      () => {
        const ready = [...patchbay.stderr().matchAll(/"message":"plugin process ready","pid":(\d+)/g)];
        return ready.length === 2 && ready.map((match) => Number(match[1]));
      },
      { what: "both plugin processes to be ready", timeoutMs: 20_000 },
    );
    for (const pid of pids) {
      assert.equal(await realpath(`/proc/${pid}/exe`), await realpath(node));
    }
  });

  it("delivers the source's events to the notifier", async () => {
    const ticks = await waitFor(
      () => {
        const seen = patchbay.events().filter((event) => event.source === "ticks");
        return seen.length >= 2 && seen;
      },
      { what: "two events from the ticks source", timeoutMs: 20_000 },
    );
    assert.equal(ticks[0]!.type, "com.example.tick");
    assert.deepEqual(
      ticks.slice(0, 2).map((event) => event.data),
      [{ tick: 1 }, { tick: 2 }],
    );
  });

  it("answers the executor's commands through /commands, with the manifest's config applied", async () => {
    const answer = await waitFor(
      async () => {
        const attempt = await patchbay.command("greet plugin authors");
        return attempt.httpStatus !== 503 && attempt;
      },
      { what: "the greet executor to be ready", timeoutMs: 20_000 },
    );
    assert.deepEqual(answer, {
      httpStatus: 200,
      body: { executor: "greet", status: "ok", output: "Hi, plugin authors!", truncated: false },
    });
    const refused = await patchbay.command("greet");
    assert.equal(refused.httpStatus, 400);
    assert.match(JSON.stringify(refused.body), /say whom to greet: greet <name>/);
  });
});
