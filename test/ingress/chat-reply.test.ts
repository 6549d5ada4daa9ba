import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CommandResult } from "../../src/commands/index.ts";
import { formatReply } from "../../src/ingress/chat/reply.ts";

const result = (overrides: Partial<CommandResult>): CommandResult => ({
  status: "ok",
  executor: "kubectl",
  output: "",
  truncated: false,
  error: "",
  ...overrides,
});

type Block = { type: string; text: { type: string; text: string } };

describe("chat replies", () => {
  const message = { title: "Pods in shop", sections: [{ header: "web-1", text: "Running" }] };

  it("on Slack, a structured message becomes Block Kit and the output is a block of its own", () => {
    const reply = formatReply("slack", "kubectl get pods", result({ output: "web-1 Running", message }));
    const blocks = reply.blocks as Block[];
    assert.deepEqual(
      blocks.map((block) => block.type),
      ["header", "section", "section"],
    );
    assert.equal(blocks[0]!.text.text, "Pods in shop");
    assert.equal(blocks[1]!.text.text, "*web-1*\nRunning");
    // Slack shows blocks instead of text: the output must be in them, not only in `text`.
    assert.equal(blocks[2]!.text.text, "```\nweb-1 Running\n```");
    assert.match(reply.text, /web-1 Running/);
  });

  it("keeps the output block within Slack's 3,000 characters, still a closed code block", () => {
    // Every ``` in the output is escaped with an extra character: the limit holds after escaping.
    const reply = formatReply(
      "slack",
      "kubectl logs web-1",
      result({ output: "```".repeat(3_000), message }),
    );
    const last = (reply.blocks as Block[]).at(-1)!.text.text;
    assert.ok(last.length <= 3_000, `${last.length} characters`);
    assert.ok(last.startsWith("```\n") && last.endsWith("\n```"));
    assert.ok(!last.slice(4, -4).includes("```"), "no fence inside the block");
    assert.match(last, /message shortened/);
  });

  it("sends plain text without blocks when there is no structured message, and always on Mattermost", () => {
    assert.equal(formatReply("slack", "echo hi", result({ output: "hi" })).blocks, undefined);
    const mattermost = formatReply("mattermost", "kubectl get pods", result({ output: "web-1", message }));
    assert.equal(mattermost.blocks, undefined);
    assert.match(mattermost.text, /```\nweb-1\n```/);
  });
});
