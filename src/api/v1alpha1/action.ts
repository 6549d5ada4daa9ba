/**
 * Action: a matching event turns into a command, run on an executor by itself, its answer attached to
 * the event's notification or sent after it as a follow-up. Selection is a Notifier's (sources and
 * filter, the same schemas and the same matching code); the command is a template over the event whose
 * placeholders each fill exactly one argument (src/actions/template.ts).
 */
import { Type, type Static } from "@sinclair/typebox";
import { StringEnum, type CelRule } from "./kube-schema.ts";
import { ConditionsSchema, DNS_SUBDOMAIN_PATTERN, typeMetaFields } from "./meta.ts";
import { NotifierFilterSchema, NotifierSourcesSchema } from "./notifier.ts";

export const ACTION_RESULT_MODES = ["attach", "followUp", "button"] as const;
export type ActionResultMode = (typeof ACTION_RESULT_MODES)[number];

/** The CloudEvent type of a follow-up message; its data.answers is the id of the event it answers. */
export const ACTION_RESULT_EVENT_TYPE = "dev.patchbay.action.result";

const names = (description: string) =>
  Type.Array(Type.String({ maxLength: 253, pattern: DNS_SUBDOMAIN_PATTERN }), {
    description,
    minItems: 1,
    maxItems: 64,
    "x-kubernetes-list-type": "set",
  });

const ActionResultSchema = Type.Object(
  {
    mode: StringEnum(ACTION_RESULT_MODES, {
      description:
        "attach: the event's own notification (on every notifier it goes to) waits for the command's output, up to deadlineSeconds, then goes out with whatever is there, under data.actions. followUp: the event goes out at once; the output follows as a separate event of type dev.patchbay.action.result (data.answers = the event's id) to the notifiers listed. button: nothing runs by itself; the notification offers the command as a button (Slack and Mattermost app notifiers), run as the person who clicks it, under their access.",
    }),
    notifiers: Type.Optional(names("followUp: the Notifiers the follow-up goes to.")),
    deadlineSeconds: Type.Optional(
      Type.Number({
        description: "attach: the longest the notification waits for the output, in seconds. Default 10.",
        minimum: 0.1,
        maximum: 300,
      }),
    ),
  },
  {
    description: "Where the command's output goes.",
    "x-kubernetes-validations": [
      { rule: "self.mode != 'followUp' || has(self.notifiers)", message: "followUp needs notifiers" },
      {
        rule: "self.mode == 'followUp' || !has(self.notifiers)",
        message: "notifiers are for followUp; attach and button go to the notifiers the event goes to",
      },
      {
        rule: "self.mode == 'attach' || !has(self.deadlineSeconds)",
        message: "deadlineSeconds is for attach",
      },
    ] satisfies CelRule[],
  },
);
export type ActionResult = Static<typeof ActionResultSchema>;

const ActionLimitsSchema = Type.Object(
  {
    windowSeconds: Type.Optional(
      Type.Integer({
        description:
          "At most one run per event subject within this many seconds; matching events in between are skipped and counted (reason window). 0 = no window. Default 300.",
        format: "int32",
        minimum: 0,
        maximum: 86_400,
      }),
    ),
    maxConcurrent: Type.Optional(
      Type.Integer({
        description:
          "Most runs of this action in flight at once; beyond it a matching event is skipped and counted (reason concurrency). Default 4.",
        format: "int32",
        minimum: 1,
        maximum: 256,
      }),
    ),
  },
  { description: "Storm limits: a flood of matching events runs a bounded number of commands." },
);
export type ActionLimits = Static<typeof ActionLimitsSchema>;

export const ActionSpecSchema = Type.Object(
  {
    sources: Type.Optional({
      ...NotifierSourcesSchema,
      description:
        "Which SourcePlugins' events the action sees: those named plus those the selector matches. Omit for every source.",
    }),
    filter: Type.Optional({
      ...NotifierFilterSchema,
      description: "Conditions an event must meet to run the action; every condition that is set must hold.",
    }),
    command: Type.String({
      description:
        "The command line, as typed in chat, with placeholders over the event: {{data.labels.pod}}, {{subject}}, {{id}}, {{source}}, {{type}}, {{time}}, {{severity}}. The line is split into arguments first; each placeholder then fills exactly its one argument, whatever the value holds (spaces, quotes, ;, a leading -). The first word must be literal. An event lacking a field is skipped and counted (reason missing-field).",
      minLength: 1,
      maxLength: 1024,
      "x-kubernetes-validations": [
        {
          rule: "!self.matches('^[ \\\\t]*[^ \\\\t]*\\\\{\\\\{')",
          message: "the first word must be literal, not a placeholder: it chooses the executor",
        },
      ] satisfies CelRule[],
    }),
    executors: names(
      "ExecutorPlugins the command may run on; one of them must answer its first word (prefix or alias).",
    ),
    result: ActionResultSchema,
    limits: Type.Optional(ActionLimitsSchema),
    suspend: Type.Optional(
      Type.Boolean({
        description: "Set true to stop running without deleting the resource.",
        default: false,
      }),
    ),
  },
  { description: "Desired state of the action." },
);
export type ActionSpec = Static<typeof ActionSpecSchema>;

export const ActionStatusSchema = Type.Object(
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
  {
    description:
      "Observed state of the action, written by the controller: conditions TemplateValid (the command template) and Ready.",
  },
);
export type ActionStatus = Static<typeof ActionStatusSchema>;

export const ActionSchema = Type.Object(
  {
    ...typeMetaFields<"Action">(),
    spec: ActionSpecSchema,
    status: Type.Optional(ActionStatusSchema),
  },
  {
    description:
      "Action turns a matching event into a command run on an executor by itself (e.g. kubectl logs for a crash-looping Pod), its output attached to the event's notification or sent after it.",
  },
);
export type Action = Static<typeof ActionSchema>;

export const ACTION_DEFAULTS = { windowSeconds: 300, maxConcurrent: 4, deadlineSeconds: 10 } as const;
