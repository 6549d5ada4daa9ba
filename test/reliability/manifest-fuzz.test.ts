/**
 * CR specs through the manifest loader, fuzzed: random YAML text, random JSON as YAML, and the sample
 * resources with random values put into random places. The loader never throws; every document ends
 * either as a resource or as a problem that names its file and position.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import fc from "fast-check";
import { parseAllDocuments, stringify } from "yaml";
import { addDocuments, type ManifestSet } from "../../src/manifests/index.ts";

const RUNS = Number(process.env.PATCHBAY_FUZZ_RUNS ?? 300) * 2;

const samples = ["demo-cloudevents", "echo", "heartbeat", "log-notifier"].map(
  (name) =>
    parseAllDocuments(readFileSync(`config/local/${name}.yaml`, "utf8"))[0]!.toJS() as Record<
      string,
      unknown
    >,
);

/** Sets `value` at a random path inside `object` (creating objects on the way). */
function plant(object: unknown, route: string[], value: unknown): unknown {
  if (route.length === 0) return value;
  const [key, ...rest] = route;
  const base = typeof object === "object" && object !== null && !Array.isArray(object) ? object : {};
  return { ...base, [key!]: plant((base as Record<string, unknown>)[key!], rest, value) };
}

const keys = fc.oneof(
  fc.constantFrom(
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "labels",
    "spec",
    "runtime",
    "process",
    "command",
    "external",
    "address",
    "pod",
    "sidecar",
    "config",
    "prefixes",
    "aliases",
    "timeoutSeconds",
    "type",
    "webhook",
    "url",
    "value",
    "env",
    "delivery",
    "queueSize",
    "filter",
    "types",
    "minSeverity",
    "sources",
    "selector",
    "matchLabels",
    "matchExpressions",
    "commands",
    "executors",
    "suspend",
    "__proto__",
    "constructor",
  ),
  fc.string({ maxLength: 8 }),
);

const documents = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 300 }),
  fc.jsonValue({ maxDepth: 6, stringUnit: "grapheme" }).map((value) => stringify(value)),
  fc
    .tuple(
      fc.constantFrom(...samples),
      fc.array(fc.tuple(fc.array(keys, { minLength: 1, maxLength: 5 }), fc.jsonValue({ maxDepth: 4 })), {
        minLength: 1,
        maxLength: 4,
      }),
    )
    .map(([sample, changes]) =>
      stringify(changes.reduce<unknown>((object, [route, value]) => plant(object, route, value), sample)),
    ),
);

it("the manifest loader survives random documents and accounts for each of them", async (t) => {
  let resources = 0;
  let problems = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(documents, { minLength: 1, maxLength: 4 }), async (texts) => {
      const text = texts.join("\n---\n");
      const set: ManifestSet = { sources: [], executors: [], notifiers: [], actions: [], problems: [] };
      assert.doesNotThrow(
        () => addDocuments(set, "fuzz.yaml", "/tmp", text),
        `input: ${JSON.stringify(text)}`,
      );
      const loaded = set.sources.length + set.executors.length + set.notifiers.length;
      const expected = parseAllDocuments(text).filter((doc) => doc.errors.length > 0 || !isEmpty(doc)).length;
      assert.ok(loaded + set.problems.length >= expected, `documents lost: ${JSON.stringify(text)}`);
      for (const problem of set.problems) assert.match(problem, /^fuzz\.yaml#\d+: \S/);
      resources += loaded;
      problems += set.problems.length;
    }),
    { numRuns: RUNS },
  );
  t.diagnostic(`${RUNS} runs: ${resources} resources loaded, ${problems} documents refused with a reason`);
});

it("an unresolved alias or an alias bomb is a problem with the document, not a crash of the loader", () => {
  const bomb = [
    "a: &a [x, x, x, x, x, x, x, x, x, x]",
    ..."bcdefgh".split("").map((c, i) => `${c}: &${c} [${Array(10).fill(`*${"abcdefgh"[i]}`).join(", ")}]`),
  ].join("\n");
  const set: ManifestSet = { sources: [], executors: [], notifiers: [], actions: [], problems: [] };
  addDocuments(set, "bad.yaml", "/tmp", `*undefined\n---\n${bomb}\n---\n${stringify(samples[1])}`);
  assert.equal(set.executors.length, 1, "the good document after the bad ones still loads");
  assert.equal(set.problems.length, 2, set.problems.join("\n"));
  assert.match(set.problems[0]!, /^bad\.yaml#1: not valid YAML: .*alias/i);
  assert.match(set.problems[1]!, /^bad\.yaml#2: not valid YAML: .*alias/i);
});

/** A document with no content (only comments, or an explicit null). */
function isEmpty(doc: ReturnType<typeof parseAllDocuments>[number]): boolean {
  try {
    return doc.toJS() === null;
  } catch {
    return false;
  }
}
