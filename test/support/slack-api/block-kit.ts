/**
 * The Block Kit checks Slack applies to a message's `blocks` (and to the blocks inside legacy
 * `attachments`), with the limits Slack documents (https://api.slack.com/reference/block-kit/blocks,
 * /block-elements, /composition-objects). Problems are worded as Slack words them in
 * `response_metadata.messages`: "[ERROR] <what> [json-pointer:/blocks/0/text/text]".
 * Covered: header, section, actions, context, divider, button, plain_text/mrkdwn text objects — what
 * Patchbay sends. Any other block or element type is refused as unsupported by this stand-in.
 */

export const BLOCK_KIT_LIMITS = {
  blocksPerMessage: 50,
  blockId: 255,
  headerText: 150,
  sectionText: 3000,
  sectionFields: 10,
  fieldText: 2000,
  actionsElements: 25,
  contextElements: 10,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  url: 3000,
} as const;

/** Slack counts characters; a code point is the closest reading of that. */
function characters(text: string): number {
  return [...text].length;
}

type Problems = string[];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function problem(pointer: string, what: string): string {
  return `[ERROR] ${what} [json-pointer:${pointer}]`;
}

/** Problems with a `blocks` array, each pointing at its place; empty when Slack would accept it. */
export function blockProblems(blocks: unknown, pointer = "/blocks"): Problems {
  if (!Array.isArray(blocks)) return [problem(pointer, "must be an array")];
  const problems: Problems = [];
  if (blocks.length > BLOCK_KIT_LIMITS.blocksPerMessage) {
    problems.push(problem(pointer, `must contain no more than ${BLOCK_KIT_LIMITS.blocksPerMessage} items`));
  }
  blocks.forEach((block, i) => problems.push(...checkBlock(block, `${pointer}/${i}`)));
  return problems;
}

function checkBlock(block: unknown, at: string): Problems {
  if (!isRecord(block)) return [problem(at, "must be an object")];
  const problems: Problems = [];
  if (block.block_id !== undefined)
    problems.push(...checkString(block.block_id, `${at}/block_id`, BLOCK_KIT_LIMITS.blockId));
  switch (block.type) {
    case "header":
      problems.push(...checkText(block.text, `${at}/text`, BLOCK_KIT_LIMITS.headerText, ["plain_text"]));
      break;
    case "section":
      problems.push(...checkSection(block, at));
      break;
    case "actions":
      problems.push(...checkActions(block, at));
      break;
    case "context":
      problems.push(...checkContext(block, at));
      break;
    case "divider":
      break;
    default:
      problems.push(problem(`${at}/type`, `unsupported block type ${JSON.stringify(block.type)}`));
  }
  return problems;
}

function checkSection(block: Record<string, unknown>, at: string): Problems {
  const problems: Problems = [];
  if (block.text === undefined && block.fields === undefined) {
    return [problem(at, "must provide either text or fields")];
  }
  if (block.text !== undefined) {
    problems.push(
      ...checkText(block.text, `${at}/text`, BLOCK_KIT_LIMITS.sectionText, ["plain_text", "mrkdwn"]),
    );
  }
  if (block.fields !== undefined) {
    if (!Array.isArray(block.fields) || block.fields.length === 0) {
      problems.push(problem(`${at}/fields`, "must be a non-empty array"));
    } else {
      if (block.fields.length > BLOCK_KIT_LIMITS.sectionFields) {
        problems.push(
          problem(`${at}/fields`, `must contain no more than ${BLOCK_KIT_LIMITS.sectionFields} items`),
        );
      }
      block.fields.forEach((field, i) =>
        problems.push(
          ...checkText(field, `${at}/fields/${i}`, BLOCK_KIT_LIMITS.fieldText, ["plain_text", "mrkdwn"]),
        ),
      );
    }
  }
  if (block.accessory !== undefined)
    problems.push(...checkElement(block.accessory, `${at}/accessory`, new Set()));
  return problems;
}

function checkActions(block: Record<string, unknown>, at: string): Problems {
  const elements = block.elements;
  if (!Array.isArray(elements) || elements.length === 0)
    return [problem(`${at}/elements`, "must be a non-empty array")];
  const problems: Problems = [];
  if (elements.length > BLOCK_KIT_LIMITS.actionsElements) {
    problems.push(
      problem(`${at}/elements`, `must contain no more than ${BLOCK_KIT_LIMITS.actionsElements} items`),
    );
  }
  // action_id must be unique among the block's elements.
  const actionIds = new Set<string>();
  elements.forEach((element, i) => problems.push(...checkElement(element, `${at}/elements/${i}`, actionIds)));
  return problems;
}

function checkContext(block: Record<string, unknown>, at: string): Problems {
  const elements = block.elements;
  if (!Array.isArray(elements) || elements.length === 0)
    return [problem(`${at}/elements`, "must be a non-empty array")];
  const problems: Problems = [];
  if (elements.length > BLOCK_KIT_LIMITS.contextElements) {
    problems.push(
      problem(`${at}/elements`, `must contain no more than ${BLOCK_KIT_LIMITS.contextElements} items`),
    );
  }
  elements.forEach((element, i) =>
    problems.push(
      ...checkText(element, `${at}/elements/${i}`, BLOCK_KIT_LIMITS.sectionText, ["plain_text", "mrkdwn"]),
    ),
  );
  return problems;
}

function checkElement(element: unknown, at: string, actionIds: Set<string>): Problems {
  if (!isRecord(element)) return [problem(at, "must be an object")];
  if (element.type !== "button")
    return [problem(`${at}/type`, `unsupported element type ${JSON.stringify(element.type)}`)];
  const problems = checkText(element.text, `${at}/text`, BLOCK_KIT_LIMITS.buttonText, ["plain_text"]);
  if (element.action_id !== undefined) {
    problems.push(...checkString(element.action_id, `${at}/action_id`, BLOCK_KIT_LIMITS.actionId));
    if (typeof element.action_id === "string") {
      if (actionIds.has(element.action_id))
        problems.push(problem(`${at}/action_id`, "must be unique within the block"));
      actionIds.add(element.action_id);
    }
  }
  if (element.value !== undefined)
    problems.push(...checkString(element.value, `${at}/value`, BLOCK_KIT_LIMITS.buttonValue));
  if (element.url !== undefined) {
    const urlProblems = checkString(element.url, `${at}/url`, BLOCK_KIT_LIMITS.url);
    if (urlProblems.length === 0 && !URL.canParse(element.url as string)) {
      urlProblems.push(problem(`${at}/url`, "must be a valid URL"));
    }
    problems.push(...urlProblems);
  }
  if (element.style !== undefined && element.style !== "primary" && element.style !== "danger") {
    problems.push(problem(`${at}/style`, "must be one of primary, danger"));
  }
  return problems;
}

function checkText(text: unknown, at: string, max: number, types: string[]): Problems {
  if (!isRecord(text)) return [problem(at, "must be a text object")];
  if (typeof text.type !== "string" || !types.includes(text.type)) {
    return [problem(`${at}/type`, `must be one of ${types.join(", ")}`)];
  }
  return checkString(text.text, `${at}/text`, max);
}

function checkString(value: unknown, at: string, max: number): Problems {
  if (typeof value !== "string") return [problem(at, "must be a string")];
  if (value.length === 0) return [problem(at, "must be more than 0 characters")];
  if (characters(value) > max) return [problem(at, `must be less than ${max + 1} characters`)];
  return [];
}
