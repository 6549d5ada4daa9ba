/** The committed generated code must be what `npm run proto` produces from proto/ today. */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);

async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)))
    .sort();
}

test("packages/sdk/src/protocol/generated is up to date with proto/ (run `npm run proto` if this fails)", async () => {
  const out = await mkdtemp(path.join(tmpdir(), "patchbay-proto-"));
  try {
    await run("node_modules/.bin/buf", ["generate", "--output", out], {
      env: { ...process.env, PATH: `${path.resolve("node_modules/.bin")}:${process.env.PATH}` },
    });
    const fresh = path.join(out, "packages/sdk/src/protocol/generated");
    const committed = "packages/sdk/src/protocol/generated";
    const files = await filesUnder(fresh);
    assert.ok(files.length >= 5, `buf generated only ${files.join(", ")}`);
    assert.deepEqual(await filesUnder(committed), files, "generated files differ in name");
    for (const file of files) {
      const [want, have] = await Promise.all([
        readFile(path.join(fresh, file), "utf8"),
        readFile(path.join(committed, file), "utf8"),
      ]);
      assert.ok(want === have, `${file} is stale: run \`npm run proto\``);
    }
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
