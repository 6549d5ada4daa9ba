import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  discord,
  discordAcceptsUrl,
  mattermost,
  slack,
  teams,
  truncate,
} from "../../src/notifiers/markup.ts";
import {
  codeBlockContent,
  hasLoneSurrogate,
  isWholeGraphemePrefix,
  markdownShownAsWritten,
} from "./platforms.ts";

describe("truncate", () => {
  test("cuts only between graphemes, at every cut position, and stays within the limit", () => {
    const text = "a👩‍👩‍👧‍👦b👍🏽🇫🇷é\u0301c";
    for (let max = 0; max <= text.length + 1; max++) {
      const cut = truncate(text, max);
      assert.ok(cut.length <= max, `max ${max}: ${cut.length}`);
      assert.ok(!hasLoneSurrogate(cut), `max ${max}`);
      if (max > 0) assert.ok(isWholeGraphemePrefix(text, cut), `max ${max}: ${JSON.stringify(cut)}`);
    }
  });

  test("a custom marker ends the cut text", () => {
    assert.equal(truncate("abcdef", 5, "[…]"), "ab[…]");
  });
});

describe("escaped text never ends in half an escape", () => {
  test("Slack entities", () => {
    for (let max = 1; max < 20; max++) {
      const text = slack.text("<<<&&&>>>", max);
      assert.ok(text.length <= max);
      assert.ok(!text.replace(/&(amp|lt|gt);/g, "").includes("&"), `half an entity: ${text}`);
      assert.ok(!/[<>]/.test(text), text);
    }
  });

  test("backslash escapes (Discord, Mattermost, Teams)", () => {
    for (const markup of [discord, mattermost, teams]) {
      for (let max = 1; max < 20; max++) {
        const text = markup.text("*_*_*_*_*_*_*_", max);
        assert.ok(text.length <= max);
        assert.ok(markdownShownAsWritten(text) !== undefined, text);
      }
    }
  });

  test("code blocks cut inside their fences and never contain a fence", () => {
    for (let max = 8; max < 30; max++) {
      for (const block of [
        slack.codeBlock("```".repeat(10), max),
        discord.codeBlock("```".repeat(10), max),
      ]) {
        assert.ok(block.length <= max, `${max}: ${block.length}`);
        assert.ok(codeBlockContent(block) !== undefined, block);
      }
    }
  });
});

describe("mentions", () => {
  test("Mattermost: @channel, @here, @all and @name are neutralised; an e-mail address is left alone", () => {
    assert.equal(
      mattermost.plain("@channel ops@example.com (@here) @all @alice", 200),
      "@\u200dchannel ops@example.com (@\u200dhere) @\u200dall @\u200dalice",
    );
  });

  test("inline code: backticks become quotes, Slack entities are escaped", () => {
    assert.equal(slack.inlineCode("kubectl get `x` <none>", 100), "`kubectl get 'x' &lt;none&gt;`");
    assert.equal(mattermost.inlineCode("echo @channel", 100), "`echo @channel`");
  });
});

describe("discordAcceptsUrl", () => {
  test("an absolute http(s) URL whose host has a dot", () => {
    assert.ok(discordAcceptsUrl("https://prometheus.example.com/graph"));
    assert.ok(discordAcceptsUrl("http://10.0.0.1:9090/x"));
    assert.ok(!discordAcceptsUrl("http://prometheus-k8s-0:9090/graph"));
    assert.ok(!discordAcceptsUrl("http://localhost/x"));
    assert.ok(!discordAcceptsUrl("ftp://a.b/x"));
    assert.ok(!discordAcceptsUrl("/relative/path"));
    assert.ok(!discordAcceptsUrl("http://trailing./x"));
  });
});
