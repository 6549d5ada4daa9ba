import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { GALLERY_PATH, renderGallery } from "../../scripts/notifier-gallery.ts";

test("docs/notifier-gallery.md is what the notifiers render today (else: npm run gallery)", async () => {
  const written = await readFile(GALLERY_PATH, "utf8");
  assert.equal(written, await renderGallery(), "the gallery is stale: run `npm run gallery` and commit it");
});
