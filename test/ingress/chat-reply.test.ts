import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CommandResult } from "../../src/commands/index.ts";
import { acknowledgement, formatReply } from "../../src/ingress/chat/reply.ts";
import {
  codeBlockContent,
  hasLoneSurrogate,
  mattermostPings,
  slackHasControlSequence,
  slackShows,
} from "../notifiers/platforms.ts";

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

  const kubectl = "NAME    NOMINATED NODE\nweb-1   <none>\n<!here> & <@U123> @channel";

  it("on Slack, an executor's output cannot ping (<!here>) and kubectl's <none> shows as written", () => {
    const reply = formatReply("slack", "kubectl get pods -o wide", result({ output: kubectl, message }));
    assert.ok(!slackHasControlSequence(reply.text), reply.text);
    assert.equal(slackShows(codeBlockContent(reply.text.split("\n").slice(1).join("\n"))!), kubectl);
    const outputBlock = (reply.blocks as Block[]).at(-1)!.text.text;
    assert.ok(!slackHasControlSequence(outputBlock), outputBlock);
    assert.equal(slackShows(codeBlockContent(outputBlock)!), kubectl);
  });

  it("on Slack, an error and a structured message's sections cannot ping either", () => {
    const failed = formatReply(
      "slack",
      "kubectl <!channel>",
      result({ status: "failed", error: "exit 1: <!here> said no" }),
    );
    assert.ok(!slackHasControlSequence(failed.text), failed.text);
    assert.match(slackShows(failed.text), /<!here> said no/);
    const structured = formatReply(
      "slack",
      "kubectl get pods",
      result({ message: { title: "<t>", sections: [{ header: "<!here>", text: "a <none> & b" }] } }),
    );
    const section = (structured.blocks as Block[])[1]!.text.text;
    assert.equal(section, "*&lt;!here&gt;*\na &lt;none&gt; &amp; b");
  });

  it("on Mattermost, an error mentioning @channel pings nobody; output stays in its code block", () => {
    const reply = formatReply(
      "mattermost",
      "kubectl get pods",
      result({ status: "failed", error: "@channel look", output: "```\n@here" }),
    );
    assert.ok(!mattermostPings(reply.text), reply.text);
  });

  it("never cuts an emoji in half when shortening, whatever falls on the cut", () => {
    for (const platform of ["slack", "mattermost"] as const) {
      for (let pad = 0; pad < 12; pad++) {
        const output = "x".repeat(pad) + "👩‍👩‍👧‍👦👍🏽🇫🇷".repeat(4_000);
        const reply = formatReply(platform, "kubectl logs web-1", result({ output, message }));
        assert.ok(!hasLoneSurrogate(reply.text), `${platform} +${pad}: text`);
        assert.match(reply.text, /message shortened/);
        for (const block of (reply.blocks ?? []) as Block[]) {
          assert.ok(!hasLoneSurrogate(block.text.text), `${platform} +${pad}: block`);
        }
        const kept = codeBlockContent(reply.text.slice(reply.text.indexOf("```")))!;
        const graphemes = [...new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(output)];
        const body = kept.slice(0, kept.indexOf("\n… (message shortened"));
        assert.ok(
          graphemes.some((g) => g.index === body.length) && output.startsWith(body),
          `${platform} +${pad}: cut inside a grapheme`,
        );
      }
    }
  });
});

describe("the acknowledgement echoes the user's command without letting it ping or break out", () => {
  const typed = "kubectl get pods <!here> && echo `x` @channel";

  it("on Slack, as inline code with its control characters escaped", () => {
    const { text, response_type } = acknowledgement("slack", typed);
    assert.equal(response_type, "ephemeral");
    assert.equal(slackHasControlSequence(text), false, text);
    assert.equal(text, "Running `kubectl get pods &lt;!here&gt; &amp;&amp; echo 'x' @channel` …");
    assert.equal(slackShows(text), "Running `kubectl get pods <!here> && echo 'x' @channel` …");
  });

  it("on Mattermost, inside inline code, where a mention does not ping", () => {
    const { text } = acknowledgement("mattermost", typed);
    assert.equal(text, "Running `kubectl get pods <!here> && echo 'x' @channel` …");
    assert.equal(mattermostPings(text), false, text);
  });

  it("an empty line is help, and a very long one is cut", () => {
    assert.equal(acknowledgement("slack", "   ").text, "Running `help` …");
    assert.ok(acknowledgement("mattermost", "x".repeat(5_000)).text.length < 520);
  });
});
