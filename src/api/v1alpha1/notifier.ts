/**
 * Notifier: a channel events are delivered to (Slack, Mattermost, Teams, Discord, a webhook, the log),
 * which sources it receives, what passes its filter, how delivery is paced and retried, and which
 * executors its chat commands may use. `patchbay local` reads the same YAML the operator reconciles.
 */
import type { Severity } from "../../events/cloudevent.ts";
import type { Condition, LabelSelector, ObjectMeta, ValueSource } from "./meta.ts";

export type NotifierType = "slack" | "mattermost" | "teams" | "discord" | "webhook" | "log";

export const NOTIFIER_TYPES: readonly NotifierType[] = [
  "slack",
  "mattermost",
  "teams",
  "discord",
  "webhook",
  "log",
];

/** Slack incoming webhook (https://api.slack.com/messaging/webhooks); messages use Block Kit. */
export interface SlackNotifierConfig {
  webhookUrl: ValueSource;
}

/** Mattermost incoming webhook; the overrides apply only where the webhook allows them. */
export interface MattermostNotifierConfig {
  webhookUrl: ValueSource;
  channel?: string;
  username?: string;
  iconUrl?: string;
}

/** Microsoft Teams workflow ("Post to a channel when a webhook request is received"); Adaptive Cards. */
export interface TeamsNotifierConfig {
  webhookUrl: ValueSource;
}

/** Discord channel webhook; messages are embeds. */
export interface DiscordNotifierConfig {
  webhookUrl: ValueSource;
  username?: string;
  avatarUrl?: string;
}

/**
 * Any HTTP endpoint. `json`: the CloudEvent as a plain JSON body (application/json).
 * `cloudevents-structured`: the same body as application/cloudevents+json.
 * `cloudevents-binary`: ce-* headers and the data as the body, for CloudEvents sinks (Knative, Argo Events).
 */
export type WebhookMode = "json" | "cloudevents-structured" | "cloudevents-binary";

export const WEBHOOK_MODES: readonly WebhookMode[] = ["json", "cloudevents-structured", "cloudevents-binary"];

export interface WebhookNotifierConfig {
  url: ValueSource;
  /** Default "json". */
  mode?: WebhookMode;
  /** Extra request headers, e.g. Authorization from a Secret. */
  headers?: Record<string, ValueSource>;
}

/** One JSON object per line; to stdout unless the program wires another stream. */
export interface LogNotifierConfig {
  format?: "json";
}

/**
 * Which SourcePlugins' events this notifier receives: those named in `names` plus those whose labels
 * match `selector` (an empty selector `{}` matches every source). Omit `sources` to receive every source;
 * a `sources` that sets neither field is rejected as ambiguous.
 */
export interface NotifierSources {
  names?: string[];
  selector?: LabelSelector;
}

/** Every condition that is set must hold for an event to pass. */
export interface NotifierFilter {
  /** Event types; an entry ending in "*" matches any type with that prefix. */
  types?: string[];
  /** Events carrying a severity below this are dropped; events without a severity pass. */
  minSeverity?: Severity;
  /** A regular expression the event's subject must match (an event without a subject does not). */
  subject?: string;
  /** Each `path` (dot-separated, into `data`) must hold a string, number or boolean matching `pattern`. */
  data?: { path: string; pattern: string }[];
}

/** Queueing, pacing and retries, per notifier. Every field has a default (see `deliveryDefaults`). */
export interface NotifierDelivery {
  /** Events waiting for delivery; when full, the oldest is dropped and counted. */
  queueSize?: number;
  /** Further attempts after the first one fails with a retryable error. */
  maxRetries?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Token bucket: sustained requests per second (0 = unlimited) and burst size. */
  ratePerSecond?: number;
  burst?: number;
  /** Deadline for one request. */
  timeoutSeconds?: number;
}

export interface NotifierCommands {
  /** ExecutorPlugin names commands from this channel may use; absent = all. */
  executors?: string[];
  /** Slack slash commands: requests are verified with this signing secret. */
  slack?: { signingSecret: ValueSource };
  /** Mattermost slash commands: requests must carry this token. */
  mattermost?: { token: ValueSource };
}

export interface NotifierSpec {
  type: NotifierType;
  /** Exactly the block named by `type` is set. */
  slack?: SlackNotifierConfig;
  mattermost?: MattermostNotifierConfig;
  teams?: TeamsNotifierConfig;
  discord?: DiscordNotifierConfig;
  webhook?: WebhookNotifierConfig;
  log?: LogNotifierConfig;
  sources?: NotifierSources;
  filter?: NotifierFilter;
  delivery?: NotifierDelivery;
  commands?: NotifierCommands;
  /** Set true to stop delivering without deleting the resource. */
  suspend?: boolean;
}

export interface NotifierStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  /** Convenience copies of the Ready condition for printer columns. */
  ready?: string;
  reason?: string;
}

export interface Notifier {
  apiVersion: "patchbay.dev/v1alpha1";
  kind: "Notifier";
  metadata: ObjectMeta;
  spec: NotifierSpec;
  status?: NotifierStatus;
}

export type ResolvedDelivery = Required<NotifierDelivery>;

const BASE_DELIVERY: ResolvedDelivery = {
  queueSize: 1000,
  maxRetries: 8,
  initialBackoffMs: 500,
  maxBackoffMs: 60_000,
  ratePerSecond: 10,
  burst: 10,
  timeoutSeconds: 10,
};

/**
 * Rates each platform documents for one webhook: Slack about 1 message per second with short bursts,
 * Discord 5 requests per 2 seconds, Teams workflows about 4 per second. The log has no remote limit.
 */
const RATE_BY_TYPE: Record<NotifierType, Pick<ResolvedDelivery, "ratePerSecond" | "burst">> = {
  slack: { ratePerSecond: 1, burst: 5 },
  mattermost: { ratePerSecond: 10, burst: 10 },
  teams: { ratePerSecond: 4, burst: 4 },
  discord: { ratePerSecond: 2.5, burst: 5 },
  webhook: { ratePerSecond: 50, burst: 100 },
  log: { ratePerSecond: 0, burst: 1 },
};

/** The delivery settings with every absent field filled from the defaults for this type. */
export function deliveryDefaults(type: string | undefined, delivery?: NotifierDelivery): ResolvedDelivery {
  const rate = type && Object.hasOwn(RATE_BY_TYPE, type) ? RATE_BY_TYPE[type as NotifierType] : undefined;
  const base = rate ? { ...BASE_DELIVERY, ...rate } : BASE_DELIVERY;
  const resolved = { ...base };
  for (const key of Object.keys(resolved) as (keyof ResolvedDelivery)[]) {
    const value = delivery?.[key];
    if (value !== undefined) resolved[key] = value;
  }
  return resolved;
}

const SEVERITY_NAMES: readonly Severity[] = ["debug", "info", "warning", "error", "critical"];

const SELECTOR_OPERATORS = ["In", "NotIn", "Exists", "DoesNotExist"];

/**
 * Problems with a Notifier spec, each naming the field and what is wrong; empty when it is valid.
 * Checks what a schema cannot say: the type's block is present and alone, regular expressions compile,
 * value sources set exactly one origin, numbers are in range.
 */
export function validateNotifierSpec(spec: unknown): string[] {
  if (!isObject(spec)) return ["spec: must be an object"];
  const problems: string[] = [];
  const type = spec.type;
  if (typeof type !== "string" || !NOTIFIER_TYPES.includes(type as NotifierType)) {
    problems.push(`spec.type: must be one of ${NOTIFIER_TYPES.join(", ")} (got ${JSON.stringify(type)})`);
  } else {
    const block = spec[type];
    if (type !== "log" && !isObject(block))
      problems.push(`spec.${type}: required when spec.type is "${type}"`);
    if (block !== undefined && !isObject(block)) problems.push(`spec.${type}: must be an object`);
    if (isObject(block)) problems.push(...validateTypeBlock(type as NotifierType, block));
  }
  for (const other of NOTIFIER_TYPES) {
    if (other !== type && spec[other] !== undefined) {
      problems.push(
        `spec.${other}: set, but spec.type is ${JSON.stringify(type)}; remove it or change the type`,
      );
    }
  }
  if (spec.sources !== undefined) problems.push(...validateSources(spec.sources));
  if (spec.filter !== undefined) problems.push(...validateFilter(spec.filter));
  if (spec.delivery !== undefined) problems.push(...validateDelivery(spec.delivery));
  if (spec.commands !== undefined) problems.push(...validateCommands(spec.commands));
  if (spec.suspend !== undefined && typeof spec.suspend !== "boolean") {
    problems.push("spec.suspend: must be true or false");
  }
  return problems;
}

function validateTypeBlock(type: NotifierType, block: Record<string, unknown>): string[] {
  const at = `spec.${type}`;
  switch (type) {
    case "slack":
    case "teams":
      return validateValueSource(block.webhookUrl, `${at}.webhookUrl`, true);
    case "mattermost":
      return [
        ...validateValueSource(block.webhookUrl, `${at}.webhookUrl`, true),
        ...optionalStrings(block, at, ["channel", "username", "iconUrl"]),
      ];
    case "discord":
      return [
        ...validateValueSource(block.webhookUrl, `${at}.webhookUrl`, true),
        ...optionalStrings(block, at, ["username", "avatarUrl"]),
      ];
    case "webhook": {
      const problems = validateValueSource(block.url, `${at}.url`, true);
      if (block.mode !== undefined && !WEBHOOK_MODES.includes(block.mode as WebhookMode)) {
        problems.push(
          `${at}.mode: must be one of ${WEBHOOK_MODES.join(", ")} (got ${JSON.stringify(block.mode)})`,
        );
      }
      if (block.headers !== undefined) {
        if (!isObject(block.headers)) problems.push(`${at}.headers: must map header names to value sources`);
        else {
          for (const [name, source] of Object.entries(block.headers)) {
            if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
              problems.push(`${at}.headers: ${JSON.stringify(name)} is not a valid HTTP header name`);
            }
            problems.push(...validateValueSource(source, `${at}.headers.${name}`, false));
          }
        }
      }
      return problems;
    }
    case "log":
      return block.format === undefined || block.format === "json"
        ? []
        : [`${at}.format: only "json" is supported (got ${JSON.stringify(block.format)})`];
  }
}

function validateValueSource(source: unknown, at: string, mustBeUrl: boolean): string[] {
  if (source === undefined) return [`${at}: required`];
  if (!isObject(source)) return [`${at}: must be an object with one of value, secretKeyRef, env, file`];
  const set = ["value", "secretKeyRef", "env", "file"].filter((key) => source[key] !== undefined);
  if (set.length !== 1) {
    return [`${at}: set exactly one of value, secretKeyRef, env, file (got ${set.join(", ") || "none"})`];
  }
  const problems: string[] = [];
  for (const key of ["value", "env", "file"]) {
    if (source[key] !== undefined && (typeof source[key] !== "string" || source[key] === "")) {
      problems.push(`${at}.${key}: must be a non-empty string`);
    }
  }
  if (source.secretKeyRef !== undefined) {
    const ref = source.secretKeyRef;
    if (
      !isObject(ref) ||
      typeof ref.name !== "string" ||
      !ref.name ||
      typeof ref.key !== "string" ||
      !ref.key
    ) {
      problems.push(`${at}.secretKeyRef: needs a non-empty name and key`);
    }
  }
  if (mustBeUrl && typeof source.value === "string" && !isHttpUrl(source.value)) {
    problems.push(`${at}.value: must be an http or https URL`);
  }
  return problems;
}

function validateSources(sources: unknown): string[] {
  if (!isObject(sources)) return ["spec.sources: must be an object with names and/or selector"];
  const problems: string[] = [];
  if (sources.names === undefined && sources.selector === undefined) {
    problems.push(
      "spec.sources: set names and/or selector; omit spec.sources entirely to receive events from every source",
    );
  }
  if (sources.names !== undefined && !isStringArray(sources.names)) {
    problems.push("spec.sources.names: must be a list of SourcePlugin names");
  }
  if (sources.selector !== undefined) problems.push(...validateSelector(sources.selector));
  return problems;
}

function validateSelector(selector: unknown): string[] {
  const at = "spec.sources.selector";
  if (!isObject(selector)) return [`${at}: must be a label selector (matchLabels, matchExpressions)`];
  const problems: string[] = [];
  const { matchLabels, matchExpressions } = selector;
  if (matchLabels !== undefined) {
    if (!isObject(matchLabels) || !Object.values(matchLabels).every((v) => typeof v === "string")) {
      problems.push(`${at}.matchLabels: must map label keys to string values`);
    }
  }
  if (matchExpressions !== undefined) {
    if (!Array.isArray(matchExpressions)) return [...problems, `${at}.matchExpressions: must be a list`];
    matchExpressions.forEach((expression: unknown, i) => {
      const where = `${at}.matchExpressions[${i}]`;
      if (!isObject(expression) || typeof expression.key !== "string" || !expression.key) {
        problems.push(`${where}: needs a key`);
        return;
      }
      const operator = expression.operator;
      if (typeof operator !== "string" || !SELECTOR_OPERATORS.includes(operator)) {
        problems.push(`${where}.operator: must be one of ${SELECTOR_OPERATORS.join(", ")}`);
        return;
      }
      const values = expression.values;
      const needsValues = operator === "In" || operator === "NotIn";
      if (needsValues && (!isStringArray(values) || values.length === 0)) {
        problems.push(`${where}.values: ${operator} needs a non-empty list of values`);
      }
      if (!needsValues && values !== undefined && !(Array.isArray(values) && values.length === 0)) {
        problems.push(`${where}.values: must be empty for ${operator}`);
      }
    });
  }
  return problems;
}

function validateFilter(filter: unknown): string[] {
  if (!isObject(filter)) return ["spec.filter: must be an object"];
  const problems: string[] = [];
  if (filter.types !== undefined && !isStringArray(filter.types)) {
    problems.push('spec.filter.types: must be a list of event types (a trailing "*" matches a prefix)');
  }
  if (filter.minSeverity !== undefined && !SEVERITY_NAMES.includes(filter.minSeverity as Severity)) {
    problems.push(
      `spec.filter.minSeverity: must be one of ${SEVERITY_NAMES.join(", ")} (got ${JSON.stringify(filter.minSeverity)})`,
    );
  }
  if (filter.subject !== undefined) problems.push(...validatePattern(filter.subject, "spec.filter.subject"));
  if (filter.data !== undefined) {
    if (!Array.isArray(filter.data)) problems.push("spec.filter.data: must be a list of {path, pattern}");
    else {
      filter.data.forEach((match: unknown, i) => {
        const at = `spec.filter.data[${i}]`;
        if (!isObject(match)) return problems.push(`${at}: must be an object with path and pattern`);
        if (typeof match.path !== "string" || !/^[^.]+(\.[^.]+)*$/.test(match.path)) {
          problems.push(`${at}.path: must be a dot-separated path into data, e.g. "labels.alertname"`);
        }
        problems.push(...validatePattern(match.pattern, `${at}.pattern`));
      });
    }
  }
  return problems;
}

function validatePattern(pattern: unknown, at: string): string[] {
  if (typeof pattern !== "string") return [`${at}: must be a regular expression string`];
  try {
    new RegExp(pattern);
    return [];
  } catch (error) {
    return [`${at}: not a valid regular expression: ${(error as Error).message}`];
  }
}

function validateDelivery(delivery: unknown): string[] {
  if (!isObject(delivery)) return ["spec.delivery: must be an object"];
  const problems: string[] = [];
  const limits: Record<keyof NotifierDelivery, [min: number, max: number, integer: boolean]> = {
    queueSize: [1, 1_000_000, true],
    maxRetries: [0, 1000, true],
    initialBackoffMs: [1, 3_600_000, true],
    maxBackoffMs: [1, 3_600_000, true],
    ratePerSecond: [0, 1_000_000, false],
    burst: [1, 1_000_000, true],
    timeoutSeconds: [0.001, 600, false],
  };
  for (const [key, [min, max, integer]] of Object.entries(limits)) {
    const value = delivery[key];
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
      problems.push(`spec.delivery.${key}: must be ${integer ? "an integer" : "a number"}`);
    } else if (value < min || value > max) {
      problems.push(`spec.delivery.${key}: must be between ${min} and ${max} (got ${value})`);
    }
  }
  for (const key of Object.keys(delivery)) {
    if (!(key in limits)) problems.push(`spec.delivery.${key}: unknown field`);
  }
  const { initialBackoffMs, maxBackoffMs } = delivery;
  if (
    typeof initialBackoffMs === "number" &&
    typeof maxBackoffMs === "number" &&
    initialBackoffMs > maxBackoffMs
  ) {
    problems.push("spec.delivery.initialBackoffMs: must not exceed maxBackoffMs");
  }
  return problems;
}

function validateCommands(commands: unknown): string[] {
  if (!isObject(commands)) return ["spec.commands: must be an object"];
  const problems: string[] = [];
  if (commands.executors !== undefined && !isStringArray(commands.executors)) {
    problems.push("spec.commands.executors: must be a list of ExecutorPlugin names");
  }
  if (commands.slack !== undefined) {
    if (!isObject(commands.slack)) problems.push("spec.commands.slack: must be an object with signingSecret");
    else
      problems.push(
        ...validateValueSource(commands.slack.signingSecret, "spec.commands.slack.signingSecret", false),
      );
  }
  if (commands.mattermost !== undefined) {
    if (!isObject(commands.mattermost))
      problems.push("spec.commands.mattermost: must be an object with token");
    else
      problems.push(
        ...validateValueSource(commands.mattermost.token, "spec.commands.mattermost.token", false),
      );
  }
  return problems;
}

function optionalStrings(block: Record<string, unknown>, at: string, keys: string[]): string[] {
  return keys
    .filter((key) => block[key] !== undefined && typeof block[key] !== "string")
    .map((key) => `${at}.${key}: must be a string`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}
