/**
 * Block Kit buttons that ask Patchbay to run a command. A click reaches Patchbay as a `block_actions`
 * interaction (Socket Mode or the HTTP endpoint) with `action_id` RUN_COMMAND_ACTION_ID (or `.<n>`) and the command
 * line in `value`; the interactive side runs it under the channel's executor limits, like a typed command.
 * Limits (https://api.slack.com/reference/block-kit/block-elements#button): text 75, value 2000,
 * action_id 255. A command is never shortened (a cut command is another command): too long, no button.
 */
import { slack } from "../notifiers/markup.ts";

export const RUN_COMMAND_ACTION_ID = "patchbay.run";

export const BUTTON_LIMITS = { text: 75, value: 2000, actionId: 255 } as const;

export interface SlackButton {
  type: "button";
  text: { type: "plain_text"; text: string; emoji: boolean };
  action_id: string;
  value: string;
}

/**
 * A button labelled `label` (shortened to fit) that runs `commandLine`; undefined if the command cannot
 * fit. Buttons in one block need different action_ids: the n-th after the first is `patchbay.run.<n>`.
 */
export function runCommandButton(label: string, commandLine: string, n = 0): SlackButton | undefined {
  if (commandLine.trim() === "" || commandLine.length > BUTTON_LIMITS.value) return undefined;
  return {
    type: "button",
    text: { type: "plain_text", text: slack.plain(label, BUTTON_LIMITS.text), emoji: false },
    action_id: n === 0 ? RUN_COMMAND_ACTION_ID : `${RUN_COMMAND_ACTION_ID}.${n}`,
    value: commandLine,
  };
}

/** Whether a clicked action is one of these buttons. */
export function isRunCommandAction(actionId: unknown): boolean {
  return (
    actionId === RUN_COMMAND_ACTION_ID ||
    (typeof actionId === "string" && /^patchbay\.run\.[1-9][0-9]?$/.test(actionId))
  );
}
