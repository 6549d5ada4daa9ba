/**
 * What Mattermost accepts in `props.attachments` (https://developers.mattermost.com/integrate/reference/message-attachments/
 * and interactive messages): an array of objects whose text fields are strings, fields with a string
 * title and value and a boolean `short`, and actions that are buttons or menus with an id of letters
 * and digits, a name, and an integration with an http(s) URL and an object context. Returns the first
 * problem, as Mattermost's error would word it, or undefined.
 */
import { isMessageAttachmentArray } from "@mattermost/types/message_attachments";

const TEXT_KEYS = [
  "fallback",
  "color",
  "pretext",
  "author_name",
  "author_link",
  "author_icon",
  "title",
  "title_link",
  "text",
  "image_url",
  "thumb_url",
  "footer",
  "footer_icon",
];

export function attachmentsProblem(attachments: unknown): string | undefined {
  if (!Array.isArray(attachments)) return "props.attachments must be an array";
  // Mattermost's own published checker first (@mattermost/types), then the rules it does not cover.
  if (!publishedCheckerAccepts(attachments))
    return "props.attachments is not a valid message attachment array";
  for (const [i, attachment] of attachments.entries()) {
    if (!isRecord(attachment)) return `attachments[${i}] must be an object`;
    for (const key of TEXT_KEYS) {
      if (attachment[key] !== undefined && typeof attachment[key] !== "string") {
        return `attachments[${i}].${key} must be a string`;
      }
    }
    const fields = attachment.fields;
    if (fields !== undefined) {
      if (!Array.isArray(fields)) return `attachments[${i}].fields must be an array`;
      for (const [j, field] of fields.entries()) {
        if (!isRecord(field) || typeof field.title !== "string" || typeof field.value !== "string") {
          return `attachments[${i}].fields[${j}] needs a string title and value`;
        }
        if (field.short !== undefined && typeof field.short !== "boolean") {
          return `attachments[${i}].fields[${j}].short must be a boolean`;
        }
      }
    }
    const problem = actionsProblem(attachment.actions, `attachments[${i}].actions`);
    if (problem) return problem;
  }
  return undefined;
}

function actionsProblem(actions: unknown, at: string): string | undefined {
  if (actions === undefined) return undefined;
  if (!Array.isArray(actions)) return `${at} must be an array`;
  for (const [k, action] of actions.entries()) {
    if (!isRecord(action)) return `${at}[${k}] must be an object`;
    if (typeof action.id !== "string" || !/^[A-Za-z0-9]+$/.test(action.id)) {
      return `${at}[${k}].id must be letters and digits only`;
    }
    if (typeof action.name !== "string" || action.name === "") return `${at}[${k}].name is required`;
    if (action.type !== undefined && action.type !== "button" && action.type !== "select") {
      return `${at}[${k}].type must be button or select`;
    }
    const integration = action.integration;
    if (!isRecord(integration) || typeof integration.url !== "string") {
      return `${at}[${k}].integration.url is required`;
    }
    if (!/^https?:\/\/\S+$/.test(integration.url))
      return `${at}[${k}].integration.url must be an http(s) URL`;
    if (integration.context !== undefined && !isRecord(integration.context)) {
      return `${at}[${k}].integration.context must be an object`;
    }
  }
  return undefined;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** @mattermost/types' own check, as a plain boolean: its type guard would narrow what the rules below read. */
function publishedCheckerAccepts(attachments: unknown): boolean {
  return isMessageAttachmentArray(attachments);
}
