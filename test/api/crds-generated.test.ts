/**
 * The committed crds/*.yaml must be what `npm run crds` writes from src/api/v1alpha1 today, byte for
 * byte: the TypeBox schemas are the one source of the API, and this catches a hand edit or a stale file.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { parse } from "yaml";
import { renderCrdFiles } from "../../src/api/generate-crds.ts";

test("crds/*.yaml is up to date with src/api/v1alpha1 (run `npm run crds` if this fails)", async () => {
  const rendered = await renderCrdFiles();
  assert.equal(rendered.length, 4);
  for (const { file, text } of rendered) {
    const committed = await readFile(file, "utf8");
    assert.ok(committed === text, `${file} is stale: run \`npm run crds\``);
  }
});

test("crds/kustomization.yaml installs exactly the generated CRDs", async () => {
  const kustomization = parse(await readFile("crds/kustomization.yaml", "utf8")) as { resources: string[] };
  const rendered = await renderCrdFiles();
  assert.deepEqual(
    kustomization.resources,
    rendered.map(({ file }) => file.replace(/^crds\//, "")),
  );
});

test("the renderer is stable: two runs give the same text", async () => {
  const [first, second] = await Promise.all([renderCrdFiles(), renderCrdFiles()]);
  assert.deepEqual(first, second);
});
