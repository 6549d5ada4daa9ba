/** Command templates: split first, one argument per placeholder, read back exactly by the dispatcher's parser. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { compileTemplate, quoteCommandLine, renderTemplate } from "../../src/actions/index.ts";
import { parseCommandLine } from "../../src/commands/index.ts";
import type { CloudEvent } from "../../src/events/cloudevent.ts";

const event = (labels: Record<string, unknown>): CloudEvent => ({
  specversion: "1.0",
  id: "e-1",
  source: "alertmanager",
  type: "dev.patchbay.prometheus.alert.firing",
  subject: "KubePodCrashLooping",
  time: "2026-11-25T04:58:21.123Z",
  data: { labels },
});

function compiled(template: string) {
  const result = compileTemplate(template);
  assert.ok(result.ok, JSON.stringify(result));
  return result.template;
}

describe("compileTemplate", () => {
  it("lists the placeholders, spaces inside braces allowed", () => {
    const template = compiled("kubectl logs {{ data.labels.pod }} -n {{data.labels.namespace}} --tail 50");
    assert.deepEqual(template.placeholders, ["data.labels.pod", "data.labels.namespace"]);
    assert.equal(template.words.length, 7);
  });

  it("refuses a placeholder in the first word, an unknown path, an unbalanced brace, a bad quote", () => {
    const problems = (template: string) => {
      const result = compileTemplate(template);
      assert.ok(!result.ok);
      return result.problems.join("\n");
    };
    assert.match(problems("{{data.cmd}} get pods"), /first word must be literal/);
    assert.match(
      problems("kubectl get {{labels.pod}}"),
      /placeholder \{\{labels\.pod\}\}: a placeholder names/,
    );
    assert.match(problems("kubectl get {{data.x"), /unbalanced \{\{ or \}\}/);
    assert.match(problems("kubectl get 'pods"), /unterminated single quote/);
    assert.match(problems("   "), /empty/);
  });
});

describe("renderTemplate", () => {
  const template = compiled(
    "kubectl get pod {{data.labels.pod}} -n {{data.labels.namespace}} -l app=web-{{subject}}",
  );

  it("fills each placeholder into exactly its one argument, whatever the value holds", () => {
    for (const value of [
      "x; rm -rf /",
      "$(id)",
      "--kubeconfig=/etc/x",
      "a b",
      `'"\\`,
      "",
      "\t-n\tkube-system",
    ]) {
      const rendered = renderTemplate(template, event({ pod: value, namespace: "shop" }));
      assert.ok(rendered.ok);
      const expected = ["kubectl", "get", "pod", value, "-n", "shop", "-l", "app=web-KubePodCrashLooping"];
      assert.deepEqual(rendered.args, expected);
      const parsed = parseCommandLine(rendered.command);
      assert.ok(parsed.ok);
      assert.deepEqual(
        parsed.words.map((word) => word.value),
        expected,
      );
    }
  });

  it("keeps a value with typographic quotes in one argument (they become plain, as the parser makes them)", () => {
    const rendered = renderTemplate(
      template,
      event({ pod: "x\u2019 --kubeconfig=/etc/x \u2018y", namespace: "shop" }),
    );
    assert.ok(rendered.ok);
    const parsed = parseCommandLine(rendered.command);
    assert.ok(parsed.ok);
    assert.equal(parsed.words.length, 8);
    assert.equal(parsed.words[3]!.value, "x' --kubeconfig=/etc/x 'y");
  });

  it("renders numbers and booleans as text", () => {
    const rendered = renderTemplate(template, event({ pod: 42, namespace: true }));
    assert.ok(rendered.ok);
    assert.deepEqual(rendered.args.slice(3, 6), ["42", "-n", "true"]);
  });

  it("fails on a missing field, an object, an array or null, naming the placeholder", () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ namespace: "shop" }, /\{\{data\.labels\.pod\}\} is missing in event e-1/],
      [{ pod: { a: 1 }, namespace: "shop" }, /holds an object/],
      [{ pod: ["a"], namespace: "shop" }, /holds an array/],
      [{ pod: null, namespace: "shop" }, /holds null/],
    ];
    for (const [labels, reason] of cases) {
      const rendered = renderTemplate(template, event(labels));
      assert.ok(!rendered.ok);
      assert.equal(rendered.missing, "data.labels.pod");
      assert.match(rendered.reason, reason);
    }
  });
});

describe("quoteCommandLine", () => {
  it("is read back by parseCommandLine as exactly the same arguments (any text without control characters)", () => {
    const text = fc
      .string({ unit: "grapheme", maxLength: 30 })
      // The parser refuses control characters but the tab (one line of plain text): so does the dispatcher.
      .filter((s) => ![...s].some((c) => (c < " " && c !== "\t") || c === "\u007f"));
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 6 }), (args) => {
        const parsed = parseCommandLine(quoteCommandLine(args));
        assert.ok(parsed.ok);
        // The parser turns typographic quotes into plain ones: so do chat clients, and so must we.
        const plain = (s: string) => s.replace(/[\u201C\u201D\u201E]/g, '"').replace(/[\u2018\u2019]/g, "'");
        assert.deepEqual(
          parsed.words.map((word) => word.value),
          args.map(plain),
        );
      }),
      { numRuns: 500 },
    );
  });
});
