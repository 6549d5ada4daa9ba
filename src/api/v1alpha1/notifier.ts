/**
 * Notifier: a channel events are delivered to (Slack, Mattermost, Teams, Discord, a webhook, the log),
 * which sources it receives, what passes its filter, how delivery is paced and retried, and which
 * executors its chat commands may use. `patchbay local` reads the same YAML the operator reconciles.
 * The schemas here are the one source of the CRD (`npm run crds`), the types and the local validation.
 */
import { Type, type Static } from "@sinclair/typebox";
import { SEVERITIES } from "../../events/cloudevent.ts";
import { StringEnum, StringMap, type CelRule } from "./kube-schema.ts";
import {
  ConditionsSchema,
  DNS_SUBDOMAIN_PATTERN,
  LabelSelectorSchema,
  typeMetaFields,
  ValueSourceSchema,
} from "./meta.ts";

export const NOTIFIER_TYPES = ["slack", "mattermost", "teams", "discord", "webhook", "log"] as const;
export type NotifierType = (typeof NOTIFIER_TYPES)[number];

/**
 * Two modes: an incoming webhook (`webhookUrl`), or a Slack app's bot token (`botToken` + `channel`),
 * which posts through the Web API so that events about one thing share a thread and carry buttons.
 */
const SlackNotifierConfigSchema = Type.Object(
  {
    webhookUrl: Type.Optional(ValueSourceSchema("the Slack webhook URL", { url: true })),
    botToken: Type.Optional(
      ValueSourceSchema("the Slack app's bot token (xoxb-…, scope chat:write)", { url: false }),
    ),
    channel: Type.Optional(
      Type.String({
        description:
          "With botToken: the channel to post to, by ID (C0123456789) or name (alerts); the app must be a member.",
        minLength: 1,
        maxLength: 256,
      }),
    ),
    apiUrl: Type.Optional(
      Type.String({
        description: "With botToken: Slack's Web API base URL. Default https://slack.com/api/.",
        maxLength: 2048,
        pattern: "^https?://",
      }),
    ),
  },
  {
    description:
      "Slack: an incoming webhook (webhookUrl, https://api.slack.com/messaging/webhooks) or a Slack app (botToken and channel), which threads the events about one thing and offers buttons; messages use Block Kit.",
    "x-kubernetes-validations": [
      {
        rule: "has(self.webhookUrl) != has(self.botToken)",
        message:
          "set exactly one of webhookUrl (an incoming webhook) or botToken (a Slack app, with channel)",
      },
      {
        rule: "!has(self.botToken) || has(self.channel)",
        message: "botToken needs channel: the channel ID or name the app posts to",
      },
      {
        rule: "has(self.botToken) || (!has(self.channel) && !has(self.apiUrl))",
        message: "channel and apiUrl apply only with botToken; an incoming webhook posts to its own channel",
      },
    ] satisfies CelRule[],
  },
);
export type SlackNotifierConfig = Static<typeof SlackNotifierConfigSchema>;

/** A Mattermost object id: 26 lower-case letters and digits. */
const MATTERMOST_ID_PATTERN = "^[a-z0-9]{26}$";

/**
 * Two modes: an incoming webhook (`webhookUrl`), or a bot account posting through the REST API v4
 * (`serverUrl`, `botToken`, `channelId`), which threads related events and can offer buttons.
 */
const MattermostNotifierConfigSchema = Type.Object(
  {
    webhookUrl: Type.Optional(ValueSourceSchema("the Mattermost webhook URL", { url: true })),
    channel: Type.Optional(
      Type.String({ description: "Channel to post to instead of the webhook's own.", maxLength: 256 }),
    ),
    username: Type.Optional(Type.String({ description: "Name to post as.", maxLength: 256 })),
    iconUrl: Type.Optional(Type.String({ description: "Avatar to post with.", maxLength: 2048 })),
    serverUrl: Type.Optional(
      Type.String({
        description: "Bot mode: the Mattermost server's URL, e.g. https://chat.example.com.",
        maxLength: 2048,
        pattern: "^https?://[^\\s/?#@]+(/[^\\s?#]*)?$",
      }),
    ),
    botToken: Type.Optional(ValueSourceSchema("the Mattermost bot account's access token", { url: false })),
    channelId: Type.Optional(
      Type.String({
        description: "Bot mode: the id of the channel to post in (26 characters); the bot must be a member.",
        pattern: MATTERMOST_ID_PATTERN,
      }),
    ),
    actionsUrl: Type.Optional(
      Type.String({
        description:
          "Bot mode: Patchbay's ingress as the Mattermost server reaches it, e.g. https://patchbay.example.com. Set, notifications about a Kubernetes object offer a Describe button that posts to <actionsUrl>/chat/mattermost/<notifier>/actions; unset, no buttons.",
        maxLength: 2048,
        pattern: "^https?://[^\\s/?#@]+(/[^\\s?#]*)?$",
      }),
    ),
  },
  {
    description:
      "Mattermost: an incoming webhook (webhookUrl; the overrides apply only where the webhook allows them), or a bot account (serverUrl, botToken, channelId) that threads related events and offers buttons.",
    "x-kubernetes-validations": [
      {
        rule: "!has(self.webhookUrl) || !(has(self.serverUrl) || has(self.botToken) || has(self.channelId) || has(self.actionsUrl))",
        message:
          "webhookUrl (incoming webhook) and serverUrl/botToken/channelId/actionsUrl (bot account) are two modes; set one",
      },
      {
        rule: "has(self.webhookUrl) || (has(self.serverUrl) && has(self.botToken) && has(self.channelId))",
        message:
          "set webhookUrl for an incoming webhook, or all of serverUrl, botToken and channelId for a bot account",
      },
      {
        rule: "has(self.webhookUrl) || !(has(self.channel) || has(self.username) || has(self.iconUrl))",
        message:
          "channel, username and iconUrl belong to the webhook mode; a bot posts as itself in channelId",
      },
    ] satisfies CelRule[],
  },
);
export type MattermostNotifierConfig = Static<typeof MattermostNotifierConfigSchema>;

const TeamsNotifierConfigSchema = Type.Object(
  { webhookUrl: ValueSourceSchema("the Teams workflow webhook URL", { url: true }) },
  {
    description:
      'Microsoft Teams workflow ("Post to a channel when a webhook request is received"); messages are Adaptive Cards.',
  },
);
export type TeamsNotifierConfig = Static<typeof TeamsNotifierConfigSchema>;

const DiscordNotifierConfigSchema = Type.Object(
  {
    webhookUrl: ValueSourceSchema("the Discord webhook URL", { url: true }),
    username: Type.Optional(Type.String({ description: "Name to post as.", maxLength: 256 })),
    avatarUrl: Type.Optional(Type.String({ description: "Avatar to post with.", maxLength: 2048 })),
  },
  { description: "Discord channel webhook; messages are embeds." },
);
export type DiscordNotifierConfig = Static<typeof DiscordNotifierConfigSchema>;

/**
 * `json`: the CloudEvent as a plain JSON body (application/json). `cloudevents-structured`: the same
 * body as application/cloudevents+json. `cloudevents-binary`: ce-* headers and the data as the body,
 * for CloudEvents sinks (Knative, Argo Events).
 */
export const WEBHOOK_MODES = ["json", "cloudevents-structured", "cloudevents-binary"] as const;
export type WebhookMode = (typeof WEBHOOK_MODES)[number];

/** RFC 9110 token: the characters an HTTP header name may have. */
const HEADER_NAME_PATTERN = "^[-!#$%&'*+.^_`|~0-9A-Za-z]+$";

const WebhookNotifierConfigSchema = Type.Object(
  {
    url: ValueSourceSchema("the endpoint URL", { url: true }),
    mode: Type.Optional(
      StringEnum(WEBHOOK_MODES, {
        description:
          "Body format. json: the CloudEvent as plain JSON. cloudevents-structured: the same as application/cloudevents+json. cloudevents-binary: ce-* headers and the data as the body (Knative, Argo Events).",
        default: "json",
      }),
    ),
    headers: Type.Optional(
      StringMap(ValueSourceSchema("the header value", { url: false }), {
        description: "Extra request headers, name to value source, e.g. Authorization from a Secret.",
        maxProperties: 32,
        "x-kubernetes-validations": [
          {
            rule: `self.all(k, k.matches("${HEADER_NAME_PATTERN}"))`,
            message: "a header name is an HTTP token: letters, digits and !#$%&'*+-.^_`|~",
          },
        ] satisfies CelRule[],
      }),
    ),
  },
  { description: "Any HTTP endpoint." },
);
export type WebhookNotifierConfig = Static<typeof WebhookNotifierConfigSchema>;

const LogNotifierConfigSchema = Type.Object(
  {
    format: Type.Optional(StringEnum(["json"], { description: "Line format; only json.", default: "json" })),
  },
  { description: "Write one JSON object per line to Patchbay's standard output." },
);
/** One JSON object per line; to stdout unless the program wires another stream. */
export type LogNotifierConfig = Static<typeof LogNotifierConfigSchema>;

/**
 * Which SourcePlugins' events this notifier receives: those named in `names` plus those whose labels
 * match `selector` (an empty selector `{}` matches every source). Omit `sources` to receive every source;
 * a `sources` that sets neither field is rejected as ambiguous.
 */
export const NotifierSourcesSchema = Type.Object(
  {
    names: Type.Optional(
      Type.Array(Type.String({ maxLength: 253, pattern: DNS_SUBDOMAIN_PATTERN }), {
        description: "Names of SourcePlugins in this namespace.",
        maxItems: 256,
        "x-kubernetes-list-type": "set",
      }),
    ),
    selector: Type.Optional(LabelSelectorSchema),
  },
  {
    description:
      "Which SourcePlugins' events this notifier receives: those named plus those the selector matches. Omit to receive every source.",
    "x-kubernetes-validations": [
      {
        rule: "has(self.names) || has(self.selector)",
        message: "set names and/or selector; omit sources entirely to receive events from every source",
      },
    ] satisfies CelRule[],
  },
);
export type NotifierSources = Static<typeof NotifierSourcesSchema>;

/** Every condition that is set must hold for an event to pass. */
export const NotifierFilterSchema = Type.Object(
  {
    types: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 256 }), {
        description: 'Event types; an entry ending in "*" matches any type with that prefix.',
        maxItems: 64,
      }),
    ),
    minSeverity: Type.Optional(
      StringEnum(SEVERITIES as readonly (typeof SEVERITIES)[number][], {
        description: "Events with a lower severity are dropped; events without a severity pass.",
      }),
    ),
    subject: Type.Optional(
      Type.String({
        description:
          "Regular expression the event's subject must match (an event without a subject does not).",
        maxLength: 1024,
      }),
    ),
    data: Type.Optional(
      Type.Array(
        Type.Object(
          {
            path: Type.String({
              description: 'Dot-separated path into data, e.g. "labels.alertname".',
              maxLength: 256,
              pattern: "^[^.]+(\\.[^.]+)*$",
            }),
            pattern: Type.String({
              description: "Regular expression the field's value (string, number or boolean) must match.",
              maxLength: 1024,
            }),
          },
          { description: "One field of the event's data and the pattern it must match." },
        ),
        { description: "Matches on the event's data.", maxItems: 32 },
      ),
    ),
  },
  { description: "Conditions an event must meet to be delivered; every condition that is set must hold." },
);
export type NotifierFilter = Static<typeof NotifierFilterSchema>;

const int32 = (description: string, minimum: number, maximum: number) =>
  Type.Optional(Type.Integer({ description, format: "int32", minimum, maximum }));

/** Queueing, pacing and retries, per notifier. Every field has a default (see `deliveryDefaults`). */
const NotifierDeliverySchema = Type.Object(
  {
    queueSize: int32(
      "Events waiting for delivery; when full, the oldest is dropped and counted. Default 1000.",
      1,
      1_000_000,
    ),
    maxRetries: int32("Further attempts after a retryable failure. Default 8.", 0, 1000),
    initialBackoffMs: int32("First wait before a retry, in milliseconds. Default 500.", 1, 3_600_000),
    maxBackoffMs: int32("Longest wait before a retry, in milliseconds. Default 60000.", 1, 3_600_000),
    ratePerSecond: Type.Optional(
      Type.Number({
        description: "Sustained requests per second (0 = unlimited). Default depends on type.",
        minimum: 0,
        maximum: 1_000_000,
      }),
    ),
    burst: int32("Requests allowed in a burst. Default depends on type.", 1, 1_000_000),
    timeoutSeconds: Type.Optional(
      Type.Number({
        description: "Deadline for one request, in seconds. Default 10.",
        minimum: 0.001,
        maximum: 600,
      }),
    ),
  },
  {
    description:
      "Queueing, pacing and retries. Every field has a default, some depending on type (e.g. Slack 1 message per second), so none is set here.",
    "x-kubernetes-validations": [
      {
        rule: "!has(self.initialBackoffMs) || !has(self.maxBackoffMs) || self.initialBackoffMs <= self.maxBackoffMs",
        message: "initialBackoffMs must not exceed maxBackoffMs",
      },
    ] satisfies CelRule[],
  },
);
export type NotifierDelivery = Static<typeof NotifierDeliverySchema>;

/** A chat user as the platform sends it: a Slack user_id, a Mattermost user_id or user_name. */
const ChatUserSchema = Type.String({ minLength: 1, maxLength: 128, pattern: "^[^\\s,]+$" });
const CHAT_GROUP_NAME_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/** What an HTTP header value may hold (kubectl sends these as Impersonate-User / Impersonate-Group). */
const KUBERNETES_SUBJECT_PATTERN = "^[^\\x00-\\x1f\\x7f]+$";

const KubernetesIdentitySchema = Type.Object(
  {
    user: Type.String({
      description:
        'The Kubernetes user kubectl acts as (`--as`), e.g. "alice@example.com". Required: the API server refuses impersonating groups without a user.',
      minLength: 1,
      maxLength: 253,
      pattern: KUBERNETES_SUBJECT_PATTERN,
    }),
    groups: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 253, pattern: KUBERNETES_SUBJECT_PATTERN }), {
        description: "The Kubernetes groups kubectl acts as (one `--as-group` each).",
        maxItems: 16,
        "x-kubernetes-list-type": "set",
      }),
    ),
  },
  {
    description:
      "The Kubernetes identity the kubectl executor impersonates for these people, so the cluster's RBAC decides what each may read. Set only here, never from the chat text. Without it, kubectl runs as its own ServiceAccount.",
  },
);
export type KubernetesIdentity = Static<typeof KubernetesIdentitySchema>;

const CommandAccessRuleSchema = Type.Object(
  {
    users: Type.Optional(
      Type.Array(ChatUserSchema, {
        description:
          "Chat users this rule covers: Slack user ids (user_id, e.g. U012ABC), Mattermost user ids or user names.",
        maxItems: 64,
        "x-kubernetes-list-type": "set",
      }),
    ),
    groups: Type.Optional(
      Type.Array(Type.String({ maxLength: 63, pattern: CHAT_GROUP_NAME_PATTERN }), {
        description: "Groups of spec.commands.groups this rule covers.",
        maxItems: 16,
        "x-kubernetes-list-type": "set",
      }),
    ),
    executors: Type.Array(Type.String({ maxLength: 253, pattern: DNS_SUBDOMAIN_PATTERN }), {
      description:
        "ExecutorPlugin names these people may use, within spec.commands.executors; [] refuses them every command.",
      maxItems: 16,
      "x-kubernetes-list-type": "set",
    }),
    kubernetes: Type.Optional(KubernetesIdentitySchema),
  },
  {
    description: "Who (users and/or groups) may use which executors, and as which Kubernetes identity.",
    "x-kubernetes-validations": [
      {
        rule: "has(self.users) || has(self.groups)",
        message: "an access rule names users and/or groups",
      },
    ] satisfies CelRule[],
  },
);
export type CommandAccessRule = Static<typeof CommandAccessRuleSchema>;

const NotifierCommandsSchema = Type.Object(
  {
    executors: Type.Optional(
      Type.Array(Type.String({ maxLength: 253, pattern: DNS_SUBDOMAIN_PATTERN }), {
        description: "ExecutorPlugin names commands from this channel may use; absent means all.",
        maxItems: 256,
        "x-kubernetes-list-type": "set",
      }),
    ),
    groups: Type.Optional(
      StringMap(
        Type.Array(ChatUserSchema, {
          description: "The chat users in this group.",
          maxItems: 256,
          "x-kubernetes-list-type": "set",
        }),
        {
          description:
            "Chat groups, name to members (Slack user ids, Mattermost user ids or user names), for access rules to name.",
          maxProperties: 32,
          "x-kubernetes-validations": [
            {
              rule: `self.all(k, k.matches("${CHAT_GROUP_NAME_PATTERN}"))`,
              message: "a group name is lower-case letters, digits and dashes",
            },
          ] satisfies CelRule[],
        },
      ),
    ),
    access: Type.Optional(
      Type.Array(CommandAccessRuleSchema, {
        description:
          "Who may run what: the first rule naming the person (directly or through a group) decides; with access set, anyone no rule names is refused every command. Absent: everyone in the channel may use its executors.",
        maxItems: 32,
      }),
    ),
    slack: Type.Optional(
      Type.Object(
        {
          appToken: Type.Optional(
            ValueSourceSchema("the Slack app-level token (xapp-…, scope connections:write) for Socket Mode", {
              url: false,
            }),
          ),
          signingSecret: Type.Optional(
            ValueSourceSchema("the Slack signing secret that verifies requests", { url: false }),
          ),
        },
        {
          description:
            "Slack commands. appToken: Socket Mode — Patchbay connects to Slack, so buttons and mentions need no public endpoint (the answers are posted with spec.slack.botToken). signingSecret: the HTTP endpoints for those who expose Patchbay — slash commands (/chat/slack/<notifier>), events and interactivity (/chat/slack/<notifier>/events, /interactivity).",
          "x-kubernetes-validations": [
            {
              rule: "has(self.appToken) || has(self.signingSecret)",
              message:
                "set appToken (Socket Mode: buttons and mentions without a public endpoint) and/or signingSecret (the HTTP endpoints)",
            },
          ] satisfies CelRule[],
        },
      ),
    ),
    mattermost: Type.Optional(
      Type.Object(
        { token: ValueSourceSchema("the token Mattermost requests must carry", { url: false }) },
        { description: "Mattermost slash commands." },
      ),
    ),
  },
  {
    description: "Chat commands from this channel.",
    "x-kubernetes-validations": [
      {
        rule: "!has(self.executors) || !has(self.access) || self.access.all(r, r.executors.all(e, e in self.executors))",
        message: "an access rule may only name executors listed in spec.commands.executors",
      },
      {
        rule: "!has(self.access) || self.access.all(r, !has(r.groups) || r.groups.all(g, has(self.groups) && g in self.groups))",
        message: "an access rule may only name groups defined in spec.commands.groups",
      },
    ] satisfies CelRule[],
  },
);
export type NotifierCommands = Static<typeof NotifierCommandsSchema>;

/**
 * One rule per type and block, so the message names the block: every type but log needs its block
 * (the log has nothing that must be set), and no other type's block may be set.
 */
const blockRules: CelRule[] = [
  ...NOTIFIER_TYPES.filter((type) => type !== "log").map((type) => ({
    rule: `self.type != '${type}' || has(self.${type})`,
    message: `type ${type} needs the ${type} block`,
  })),
  ...NOTIFIER_TYPES.map((type) => ({
    rule: `!has(self.${type}) || self.type == '${type}'`,
    message: `the ${type} block is set but type is not ${type}; remove it or change type`,
  })),
];

export const NotifierSpecSchema = Type.Object(
  {
    type: StringEnum(NOTIFIER_TYPES, {
      description: "The kind of channel; the block of the same name holds its settings.",
    }),
    slack: Type.Optional(SlackNotifierConfigSchema),
    mattermost: Type.Optional(MattermostNotifierConfigSchema),
    teams: Type.Optional(TeamsNotifierConfigSchema),
    discord: Type.Optional(DiscordNotifierConfigSchema),
    webhook: Type.Optional(WebhookNotifierConfigSchema),
    log: Type.Optional(LogNotifierConfigSchema),
    sources: Type.Optional(NotifierSourcesSchema),
    filter: Type.Optional(NotifierFilterSchema),
    delivery: Type.Optional(NotifierDeliverySchema),
    commands: Type.Optional(NotifierCommandsSchema),
    suspend: Type.Optional(
      Type.Boolean({
        description: "Set true to stop delivering without deleting the resource.",
        default: false,
      }),
    ),
  },
  {
    description: "Desired state of the notifier.",
    "x-kubernetes-validations": [
      ...blockRules,
      {
        rule: "!has(self.commands) || !has(self.commands.slack) || !has(self.commands.slack.appToken) || (has(self.slack) && has(self.slack.botToken))",
        message:
          "commands.slack.appToken (Socket Mode) needs slack.botToken: the answers are posted as the Slack app",
      },
    ] satisfies CelRule[],
  },
);
export type NotifierSpec = Static<typeof NotifierSpecSchema>;

export const NotifierStatusSchema = Type.Object(
  {
    observedGeneration: Type.Optional(
      Type.Integer({
        description: "The .metadata.generation the controller last acted on.",
        format: "int64",
        minimum: 0,
      }),
    ),
    conditions: Type.Optional(ConditionsSchema),
    ready: Type.Optional(Type.String({ description: "Copy of the Ready condition's status." })),
    reason: Type.Optional(Type.String({ description: "Copy of the Ready condition's reason." })),
  },
  { description: "Observed state of the notifier, written by the controller." },
);
export type NotifierStatus = Static<typeof NotifierStatusSchema>;

export const NotifierSchema = Type.Object(
  {
    ...typeMetaFields<"Notifier">(),
    spec: NotifierSpecSchema,
    status: Type.Optional(NotifierStatusSchema),
  },
  {
    description:
      "Notifier declares a channel events are delivered to (Slack, Mattermost, Teams, Discord, a webhook, the log): which sources it receives, what passes its filter, how delivery is paced and retried, and which executors its chat commands may use.",
  },
);
export type Notifier = Static<typeof NotifierSchema>;

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
