/** A command result as a chat message, and its delivery to the platform's response_url. */
import type { CommandResult } from "../../commands/index.ts";
import { mattermost, slack, truncate } from "../../notifiers/markup.ts";
import { ADDRESS_NOT_ALLOWED, postJson, type ResponseUrlPolicy } from "./response-url.ts";

export type Platform = "slack" | "mattermost";

export interface ChatReply {
  response_type: "in_channel" | "ephemeral";
  text: string;
  blocks?: unknown[];
}

/** Whole-message text limits: Slack truncates at 40,000 characters, Mattermost refuses posts over 16,383. */
const TEXT_LIMITS: Record<Platform, number> = { slack: 39_000, mattermost: 16_000 };
const SLACK_SECTION_LIMIT = 3_000;
const SLACK_HEADER_LIMIT = 150;
/** An executor's error is one line of context, not a second output. */
const ERROR_LIMIT = 2_000;
/** The command as echoed in the acknowledgement; the full line is in the answer that follows. */
const ACKNOWLEDGED_COMMAND_LIMIT = 500;
const SHORTENED = "\n… (message shortened to fit the platform's limit)";

/**
 * Each platform's markup for a reply: executor output and errors are untrusted text, so `<!here>` in
 * kubectl's output must not ping a Slack channel, nor `@channel` a Mattermost one.
 */
const MARKUP: Record<Platform, typeof slack | typeof mattermost> = { slack, mattermost };
/** A command line is shown whole unless it is absurdly long. */
const COMMAND_LIMIT = 500;

const STATUS_LABELS: Record<CommandResult["status"], string> = {
  ok: "ok",
  "unknown-command": "unknown command",
  forbidden: "not allowed",
  invalid: "invalid command",
  unavailable: "executor unavailable",
  timeout: "timed out",
  failed: "failed",
};

export function formatReply(platform: Platform, commandLine: string, result: CommandResult): ChatReply {
  const markup = MARKUP[platform];
  const heading = `${markup.inlineCode(commandLine, COMMAND_LIMIT)}${result.executor ? ` (${markup.text(result.executor, Infinity)})` : ""}`;
  const lines =
    result.status === "ok"
      ? [heading]
      : [`:warning: ${heading} — ${STATUS_LABELS[result.status]}: ${markup.text(result.error, ERROR_LIMIT)}`];
  const limit = TEXT_LIMITS[platform];
  if (result.output) {
    const room = limit - lines.join("\n").length - 1;
    lines.push(markup.codeBlock(result.output, room, { marker: SHORTENED }));
  } else if (result.status === "ok") lines.push("(no output)");
  const reply: ChatReply = {
    response_type: "in_channel",
    text: truncate(lines.join("\n"), limit, SHORTENED),
  };
  const blocks = platform === "slack" ? slackBlocks(result.message) : undefined;
  if (blocks) {
    // Slack shows the blocks instead of `text` when both are sent: the output goes in a block too.
    if (result.output) {
      const output = slack.codeBlock(result.output, SLACK_SECTION_LIMIT, { marker: SHORTENED });
      blocks.push({ type: "section", text: { type: "mrkdwn", text: output } });
    }
    reply.blocks = blocks;
  }
  return reply;
}

/** The immediate "Running …" answer; the command line is the user's text, so it goes through markup too. */
export function acknowledgement(platform: Platform, commandLine: string): ChatReply {
  const command = MARKUP[platform].inlineCode(commandLine.trim() || "help", ACKNOWLEDGED_COMMAND_LIMIT);
  return { response_type: "ephemeral", text: `Running ${command} …` };
}

/**
 * Posts the reply to a response_url the policy allowed (see response-url.ts, which also refuses a name
 * that resolves to a loopback or link-local address); one retry for a network error or a 5xx.
 * Resolves to whether it was delivered.
 */
export async function postReply(
  url: string,
  reply: ChatReply,
  timeoutMs: number,
  policy: ResponseUrlPolicy,
): Promise<{ ok: boolean; detail: string }> {
  let detail = "";
  for (let attempt = 1; attempt <= 2; attempt++) {
    try {
      const { status } = await postJson(url, JSON.stringify(reply), timeoutMs, policy);
      if (status >= 200 && status < 300) return { ok: true, detail: "" };
      detail = `response_url answered ${status}`;
      if (status < 500) break;
    } catch (err) {
      detail = `response_url unreachable: ${(err as Error).message}`;
      if ((err as { code?: string }).code === ADDRESS_NOT_ALLOWED) break;
    }
    if (attempt === 1) await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return { ok: false, detail };
}

/** A StructuredMessage ({title, sections}) as Block Kit, when the executor sent one. */
function slackBlocks(message: unknown): unknown[] | undefined {
  if (typeof message !== "object" || message === null) return undefined;
  const { title, sections } = message as { title?: unknown; sections?: unknown };
  const blocks: unknown[] = [];
  if (typeof title === "string" && title) {
    blocks.push({
      type: "header",
      text: { type: "plain_text", text: slack.plain(title, SLACK_HEADER_LIMIT) },
    });
  }
  if (Array.isArray(sections)) {
    for (const section of sections.slice(0, 45)) {
      const { header, text } = (section ?? {}) as { header?: unknown; text?: unknown };
      if (typeof text !== "string") continue;
      // The executor's formatting is kept; only its &, < and > are escaped, so nothing in it pings.
      const heading = typeof header === "string" && header ? `*${slack.text(header, 200)}*\n` : "";
      const body = heading + slack.text(text, SLACK_SECTION_LIMIT - heading.length);
      blocks.push({ type: "section", text: { type: "mrkdwn", text: body } });
    }
  }
  return blocks.length > 0 ? blocks : undefined;
}
