/**
 * SourcePlugin and ExecutorPlugin: the custom resources that declare a plugin, how it runs, and its
 * config. `patchbay local` reads the same YAML the operator reconciles. The schemas here are the one
 * source of the CRDs (`npm run crds`), the types and the local validation.
 */
import { Type, type Static, type TSchema } from "@sinclair/typebox";
import { ConditionsSchema, DNS_SUBDOMAIN_PATTERN, SecretKeyRefSchema, typeMetaFields } from "./meta.ts";
import { IntOrString, PreservedObject, StringEnum, StringMap, type CelRule } from "./kube-schema.ts";

/** Lower-case words separated by single spaces, e.g. "kubectl" or "helm list". */
export const PREFIX_PATTERN = /^[a-z0-9][a-z0-9._-]*( [a-z0-9][a-z0-9._-]*)*$/;
/** One word of a prefix: an alias's name, e.g. "k" or "kgp". */
export const ALIAS_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;
/** DNS-1035 label, as the CRDs require: a plugin's name also names its Service. */
export const NAME_PATTERN = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export const RUNTIME_MODES = ["pod", "sidecar", "external", "process"] as const;

const QUANTITY_PATTERN =
  "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$";

const quantities = (description: string) =>
  StringMap(
    IntOrString({ description: "A resource quantity, e.g. 100m or 64Mi.", pattern: QUANTITY_PATTERN }),
    { description, maxProperties: 16 },
  );

const ResourceRequirementsSchema = (whose: string) =>
  Type.Object(
    {
      requests: Type.Optional(quantities("Minimum resources, e.g. {cpu: 10m, memory: 64Mi}.")),
      limits: Type.Optional(quantities("Maximum resources, e.g. {memory: 128Mi}.")),
    },
    { description: `Compute resources of the ${whose} container (as in a Pod's resources).` },
  );
export type ResourceRequirements = Static<ReturnType<typeof ResourceRequirementsSchema>>;

const EnvVarSchema = Type.Object(
  {
    name: Type.String({
      description: "Name of the variable.",
      minLength: 1,
      maxLength: 256,
      pattern: "^[-._a-zA-Z][-._a-zA-Z0-9]*$",
    }),
    value: Type.Optional(Type.String({ description: "Literal value.", maxLength: 32768 })),
    valueFrom: Type.Optional(
      Type.Object(
        { secretKeyRef: Type.Optional(SecretKeyRefSchema("the value")) },
        { description: "Where the value comes from when it is not literal." },
      ),
    ),
  },
  {
    description: "One environment variable: a literal value or a Secret key.",
    "x-kubernetes-validations": [
      { rule: "!(has(self.value) && has(self.valueFrom))", message: "set value or valueFrom, not both" },
    ] satisfies CelRule[],
  },
);
export type EnvVar = Static<typeof EnvVarSchema>;

const envList = (whose: string) =>
  Type.Array(EnvVarSchema, {
    description: `Environment variables for the ${whose}, in addition to the ones Patchbay sets (PATCHBAY_PLUGIN_ADDRESS).`,
    maxItems: 64,
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["name"],
  });

const programWords = (description: string) =>
  Type.Array(Type.String({ maxLength: 4096 }), { description, maxItems: 64 });

const COMMAND_DESCRIPTION =
  "The program to run, as a Pod's command: it replaces the image's ENTRYPOINT. Unset (or empty), the image's own ENTRYPOINT runs, so a plugin in any language runs as built. The Patchbay image runs a bundled plugin with [\"node\"].";
const argsDescription = (example: string) =>
  `Arguments to the program, as a Pod's args: they replace the image's CMD, e.g. ["plugins/${example}/main.ts"] with command ["node"] in the Patchbay image.`;

/**
 * `command` and `args` mean what they mean in a Pod: `command` replaces the image's ENTRYPOINT and
 * `args` its CMD; unset, the image's own ENTRYPOINT runs. Patchbay's image runs a bundled plugin with
 * `command: ["node"]`, `args: ["plugins/<name>/main.ts"]`.
 */
const PodRuntimeSchema = Type.Object(
  {
    image: Type.String({
      description: "Container image of the plugin, e.g. ghcr.io/patchbay/patchbay:0.1.0.",
      minLength: 1,
      maxLength: 512,
    }),
    command: Type.Optional(programWords(COMMAND_DESCRIPTION)),
    args: Type.Optional(programWords(argsDescription("heartbeat"))),
    env: Type.Optional(envList("plugin")),
    port: Type.Optional(
      Type.Integer({
        description: "The gRPC port the plugin listens on inside its Pod.",
        format: "int32",
        minimum: 1,
        maximum: 65535,
        default: 50051,
      }),
    ),
    replicas: Type.Optional(
      Type.Integer({
        description: "Number of plugin Pods.",
        format: "int32",
        minimum: 0,
        maximum: 100,
        default: 1,
      }),
    ),
    resources: Type.Optional(ResourceRequirementsSchema("plugin's")),
    serviceAccountName: Type.Optional(
      Type.String({
        description:
          "ServiceAccount the plugin's Pods run as, for plugins that need API access (e.g. the kubernetes source). Default: one Patchbay creates for this plugin, with no permissions.",
        maxLength: 253,
        pattern: DNS_SUBDOMAIN_PATTERN,
      }),
    ),
  },
  {
    description:
      "Run the plugin as its own Deployment and Service, owned by this resource, non-root, read-only root filesystem, with its own ServiceAccount and a gRPC readiness probe.",
  },
);
export type PodRuntime = Static<typeof PodRuntimeSchema>;

/** `command` and `args` as in PodRuntime. */
const SidecarRuntimeSchema = Type.Object(
  {
    image: Type.String({
      description: "Container image of the sidecar, e.g. ghcr.io/patchbay/patchbay:0.1.0.",
      minLength: 1,
      maxLength: 512,
    }),
    command: Type.Optional(programWords(COMMAND_DESCRIPTION)),
    args: Type.Optional(programWords(argsDescription("echo"))),
    env: Type.Optional(envList("sidecar")),
    port: Type.Integer({
      description:
        "The localhost port the sidecar listens on; unique within the Patchbay Pod and not 8080 or 8081 (Patchbay's own ports).",
      format: "int32",
      minimum: 1,
      maximum: 65535,
    }),
    resources: Type.Optional(ResourceRequirementsSchema("sidecar's")),
  },
  {
    description:
      "Run the plugin as a container in Patchbay's own Pod, reached on localhost. Removing the resource removes the container.",
    "x-kubernetes-validations": [
      {
        rule: "self.port != 8080 && self.port != 8081",
        message: "ports 8080 and 8081 are Patchbay's own ingress and management ports",
      },
    ] satisfies CelRule[],
  },
);
export type SidecarRuntime = Static<typeof SidecarRuntimeSchema>;

const ExternalRuntimeSchema = Type.Object(
  {
    address: Type.String({
      description: "host:port of the running plugin, e.g. my-plugin.tools.svc:50051 or [::1]:50051.",
      maxLength: 512,
      pattern:
        "^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?):([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$",
    }),
    tls: Type.Optional(
      Type.Object(
        {
          secretName: Type.Optional(
            Type.String({
              description:
                "Secret in the resource's namespace holding ca.crt, and tls.crt/tls.key for mutual TLS. Default: the system's trusted CAs.",
              maxLength: 253,
              pattern: DNS_SUBDOMAIN_PATTERN,
            }),
          ),
          serverName: Type.Optional(
            Type.String({
              description: "Name to verify the server's certificate against. Default: the host of address.",
              maxLength: 253,
            }),
          ),
          insecureSkipVerify: Type.Optional(
            Type.Boolean({
              description: "Skip verification of the server's certificate (testing only).",
              default: false,
            }),
          ),
        },
        { description: "Connect with TLS instead of plaintext." },
      ),
    ),
  },
  { description: "Connect to a plugin that is already serving the plugin protocol." },
);
export type ExternalRuntime = Static<typeof ExternalRuntimeSchema>;

const ProcessRuntimeSchema = Type.Object(
  {
    command: Type.Array(Type.String({ maxLength: 4096 }), {
      description: 'The program and its arguments; "node" means the Node that runs Patchbay.',
      minItems: 1,
      maxItems: 64,
    }),
    env: Type.Optional(
      StringMap(Type.String({ description: "Value of the variable." }), {
        description: "Environment variables of the process.",
        maxProperties: 64,
      }),
    ),
    workingDir: Type.Optional(
      Type.String({
        description:
          "Working directory, relative to the folder the manifest was read from. Default: the current directory.",
        maxLength: 4096,
      }),
    ),
  },
  {
    description:
      "Run the plugin as a child process. For `patchbay local` only: the operator reports this mode as unsupported.",
  },
);
export type ProcessRuntime = Static<typeof ProcessRuntimeSchema>;

const exactlyOneMode: CelRule = {
  rule: RUNTIME_MODES.map((mode) => `(has(self.${mode}) ? 1 : 0)`).join(" + ") + " == 1",
  message: "set exactly one runtime mode: pod, sidecar, external or process",
};

/** Exactly one of the runtime modes is set. */
const PluginRuntimeSchema = Type.Object(
  {
    pod: Type.Optional(PodRuntimeSchema),
    sidecar: Type.Optional(SidecarRuntimeSchema),
    external: Type.Optional(ExternalRuntimeSchema),
    process: Type.Optional(ProcessRuntimeSchema),
  },
  {
    description: "How the plugin runs. Set exactly one of pod, sidecar, external, process.",
    "x-kubernetes-validations": [exactlyOneMode],
  },
);
export type PluginRuntime = Static<typeof PluginRuntimeSchema>;

const commonSpecFields = {
  runtime: PluginRuntimeSchema,
  config: Type.Optional(
    PreservedObject({
      description:
        "The plugin's configuration, free-form JSON checked against the JSON Schema the plugin declares in Describe; a mismatch shows as the ConfigValid=False condition.",
    }),
  ),
  suspend: Type.Optional(
    Type.Boolean({
      description: "Set true to stop the plugin without deleting the resource.",
      default: false,
    }),
  ),
};

export const SourcePluginSpecSchema = Type.Object(commonSpecFields, {
  description: "Desired state of the source plugin.",
});
export type SourcePluginSpec = Static<typeof SourcePluginSpecSchema>;
export type PluginSpecCommon = SourcePluginSpec;

export const ExecutorPluginSpecSchema = Type.Object(
  {
    ...commonSpecFields,
    prefixes: Type.Array(
      Type.String({
        maxLength: 64,
        "x-kubernetes-validations": [
          {
            rule: `self.matches('${PREFIX_PATTERN.source}')`,
            message:
              "a prefix is one or more lower-case words (a-z, 0-9, '-', '_', '.') separated by single spaces, with no leading or trailing space",
          },
        ] satisfies CelRule[],
      }),
      {
        description:
          'Command prefixes this executor answers, e.g. ["kubectl"] or ["git log"]; among all executors the longest match wins.',
        minItems: 1,
        maxItems: 32,
        "x-kubernetes-list-type": "set",
      },
    ),
    aliases: Type.Optional(
      StringMap(
        Type.String({
          description: "The words the alias stands for.",
          minLength: 1,
          maxLength: 256,
          pattern: "\\S",
        }),
        {
          description:
            'Shorthands expanded before dispatch: a single-word name to the words it stands for, e.g. {k: kubectl, kgp: "kubectl get pods"}.',
          maxProperties: 64,
          "x-kubernetes-validations": [
            {
              rule: `self.all(k, k.matches('${ALIAS_PATTERN.source}'))`,
              message: "an alias is one lower-case word (a-z, 0-9, '-', '_', '.'), like one word of a prefix",
            },
          ] satisfies CelRule[],
        },
      ),
    ),
    timeoutSeconds: Type.Optional(
      Type.Integer({
        description: "Deadline for one Execute call, in seconds.",
        format: "int32",
        minimum: 1,
        maximum: 600,
        default: 30,
      }),
    ),
  },
  { description: "Desired state of the executor plugin." },
);
export type ExecutorPluginSpec = Static<typeof ExecutorPluginSpecSchema>;

export const PluginStatusSchema = Type.Object(
  {
    observedGeneration: Type.Optional(
      Type.Integer({
        description: "The .metadata.generation the controller last acted on.",
        format: "int64",
        minimum: 0,
      }),
    ),
    conditions: Type.Optional(ConditionsSchema),
    endpoint: Type.Optional(Type.String({ description: "Where Patchbay reaches the plugin (host:port)." })),
    plugin: Type.Optional(
      Type.Object(
        {
          name: Type.String({ description: "The plugin's name." }),
          version: Type.String({ description: "The plugin's version." }),
          description: Type.Optional(Type.String({ description: "What the plugin does." })),
        },
        { description: "What the plugin reported about itself in Describe." },
      ),
    ),
    ready: Type.Optional(Type.String({ description: "Copy of the Ready condition's status." })),
    reason: Type.Optional(Type.String({ description: "Copy of the Ready condition's reason." })),
    mode: Type.Optional(StringEnum(RUNTIME_MODES, { description: "The runtime mode in use." })),
  },
  { description: "Observed state of the plugin, written by the controller." },
);
export type PluginStatus = Static<typeof PluginStatusSchema>;

/** The root rule of both plugin kinds: a plugin's name also names its Deployment and Service. */
const nameIsDns1035Label: CelRule = {
  rule: `self.metadata.name.matches('${NAME_PATTERN.source}') && size(self.metadata.name) <= 63`,
  message:
    "the name must be a DNS-1035 label (lower-case letters, digits and '-', starting with a letter, at most 63 characters): it names the plugin's Deployment and Service",
};

const pluginObject = <const Kind extends string, Spec extends TSchema>(spec: Spec, description: string) =>
  Type.Object(
    {
      ...typeMetaFields<Kind>(),
      spec,
      status: Type.Optional(PluginStatusSchema),
    },
    { description, "x-kubernetes-validations": [nameIsDns1035Label] },
  );

export const SourcePluginSchema = pluginObject<"SourcePlugin", typeof SourcePluginSpecSchema>(
  SourcePluginSpecSchema,
  "SourcePlugin declares a plugin that streams events into Patchbay, how it runs, and its config.",
);
export type SourcePlugin = Static<typeof SourcePluginSchema>;

export const ExecutorPluginSchema = pluginObject<"ExecutorPlugin", typeof ExecutorPluginSpecSchema>(
  ExecutorPluginSpecSchema,
  "ExecutorPlugin declares a plugin that answers chat commands starting with one of its prefixes, how it runs, and its config.",
);
export type ExecutorPlugin = Static<typeof ExecutorPluginSchema>;

export type PluginResource = SourcePlugin | ExecutorPlugin;

export type RuntimeMode = keyof PluginRuntime;

/** The one runtime mode a spec sets, or undefined when it sets none or several. */
export function runtimeMode(runtime: PluginRuntime): RuntimeMode | undefined {
  const set = (Object.keys(runtime) as RuntimeMode[]).filter((mode) => runtime[mode] !== undefined);
  return set.length === 1 ? set[0] : undefined;
}
