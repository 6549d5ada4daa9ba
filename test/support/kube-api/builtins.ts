/**
 * The built-in resources Patchbay touches, with the server-side defaults and checks the real
 * API server applies that an operator's behaviour could depend on. No controllers run: a
 * Deployment never gets ReplicaSets or Pods, a Pod never gets scheduled.
 */

import type { StatusCause } from "./errors.ts";
import { coreEventToEventsV1, eventsV1ToCoreEvent } from "./event-conversion.ts";
import { crdHooks } from "./crds.ts";
import { isObject } from "./objects.ts";
import type { JsonObject, KubeObject } from "./objects.ts";
import { standardVerbs } from "./registry.ts";
import { ageColumn, nameColumn } from "./table.ts";
import type { PrinterColumn, ResourceHooks, ResourceType } from "./registry.ts";

type BuiltinSpec = Pick<ResourceType, "group" | "version" | "plural" | "kind"> & Partial<ResourceType>;

function builtin(spec: BuiltinSpec): ResourceType {
  return {
    singular: spec.kind.toLowerCase(),
    listKind: `${spec.kind}List`,
    namespaced: true,
    shortNames: [],
    categories: [],
    verbs: standardVerbs,
    statusSubresource: false,
    custom: false,
    storage: `${spec.group}/${spec.plural}`,
    storageVersion: true,
    returnDeletedObject: false,
    nameRule: "subdomain",
    selectableFields: [],
    ...spec,
  };
}

function read(obj: unknown, path: string): unknown {
  let current = obj;
  for (const segment of path.split(".")) {
    if (!isObject(current)) return undefined;
    current = current[segment];
  }
  return current;
}

function list(obj: unknown, path: string): JsonObject[] {
  const value = read(obj, path);
  return Array.isArray(value) ? value.filter(isObject) : [];
}

function section(obj: KubeObject, key: string): JsonObject {
  const value = obj[key];
  if (isObject(value)) return value;
  const created: JsonObject = {};
  obj[key] = created;
  return created;
}

const column = (name: string, value: (o: KubeObject) => unknown, priority = 0): PrinterColumn => ({
  name,
  type: "string",
  priority,
  value,
});

const podColumns: PrinterColumn[] = [
  nameColumn,
  column("Ready", (o) => {
    const statuses = list(o, "status.containerStatuses");
    return `${statuses.filter((s) => s.ready === true).length}/${list(o, "spec.containers").length}`;
  }),
  column("Status", (o) =>
    o.metadata.deletionTimestamp ? "Terminating" : (read(o, "status.phase") ?? "Pending"),
  ),
  column("Restarts", (o) =>
    list(o, "status.containerStatuses").reduce(
      (n, s) => n + (typeof s.restartCount === "number" ? s.restartCount : 0),
      0,
    ),
  ),
  ageColumn,
  column("IP", (o) => read(o, "status.podIP") ?? "<none>", 1),
  column("Node", (o) => read(o, "spec.nodeName") ?? "<none>", 1),
];

const serviceColumns: PrinterColumn[] = [
  nameColumn,
  column("Type", (o) => read(o, "spec.type") ?? "ClusterIP"),
  column("Cluster-IP", (o) => read(o, "spec.clusterIP") ?? "<none>"),
  column("External-IP", () => "<none>"),
  column(
    "Port(s)",
    (o) =>
      list(o, "spec.ports")
        .map((p) => `${String(p.port)}/${String(p.protocol ?? "TCP")}`)
        .join(",") || "<none>",
  ),
  ageColumn,
];

const eventColumns: PrinterColumn[] = [
  {
    name: "Last Seen",
    type: "date",
    value: (o) => read(o, "lastTimestamp") ?? read(o, "eventTime") ?? o.metadata.creationTimestamp,
  },
  column("Type", (o) => read(o, "type")),
  column("Reason", (o) => read(o, "reason")),
  column(
    "Object",
    (o) =>
      `${String(read(o, "involvedObject.kind") ?? "").toLowerCase()}/${String(read(o, "involvedObject.name") ?? "")}`,
  ),
  column("Message", (o) => read(o, "message")),
];

function dataCount(o: KubeObject): number {
  return (
    Object.keys(isObject(o.data) ? o.data : {}).length +
    Object.keys(isObject(o.binaryData) ? o.binaryData : {}).length
  );
}

/** Secrets: `stringData` folds into base64 `data` on every write, as the real server does. */
const secretHooks: ResourceHooks = {
  prepareCreate: (obj) => foldStringData(obj),
  prepareUpdate: (obj) => foldStringData(obj),
};

function foldStringData(obj: KubeObject): void {
  if (obj.type === undefined) obj.type = "Opaque";
  if (!isObject(obj.stringData)) return;
  const data = section(obj, "data");
  for (const [key, value] of Object.entries(obj.stringData))
    data[key] = Buffer.from(String(value)).toString("base64");
  delete obj.stringData;
}

const serviceHooks: ResourceHooks = {
  prepareCreate(obj, ctx) {
    const spec = section(obj, "spec");
    spec.type ??= "ClusterIP";
    spec.sessionAffinity ??= "None";
    if (spec.type !== "ExternalName" && spec.clusterIP === undefined) {
      spec.clusterIP = ctx.allocateClusterIp();
      spec.clusterIPs = [spec.clusterIP];
    }
    for (const port of list(obj, "spec.ports")) {
      port.protocol ??= "TCP";
      port.targetPort ??= port.port;
    }
  },
  prepareUpdate(next, previous) {
    const spec = section(next, "spec");
    spec.clusterIP ??= read(previous, "spec.clusterIP");
    spec.clusterIPs ??= read(previous, "spec.clusterIPs");
  },
};

const podHooks: ResourceHooks = {
  prepareCreate(obj) {
    const status = section(obj, "status");
    status.phase ??= "Pending";
    for (const container of [...list(obj, "spec.initContainers"), ...list(obj, "spec.containers")]) {
      for (const port of list(container, "ports")) port.protocol ??= "TCP";
    }
  },
};

const namespaceHooks: ResourceHooks = {
  prepareCreate(obj) {
    section(obj, "spec").finalizers ??= ["kubernetes"];
    section(obj, "status").phase ??= "Active";
    obj.metadata.labels = { ...obj.metadata.labels, "kubernetes.io/metadata.name": obj.metadata.name ?? "" };
  },
  prepareUpdate(next) {
    next.metadata.labels = {
      ...next.metadata.labels,
      "kubernetes.io/metadata.name": next.metadata.name ?? "",
    };
  },
};

/** The two Deployment checks an operator most often trips over: selector required and matching. */
function validateDeployment(obj: KubeObject): StatusCause[] {
  const matchLabels = read(obj, "spec.selector.matchLabels");
  const matchExpressions = read(obj, "spec.selector.matchExpressions");
  if (!isObject(matchLabels) && !Array.isArray(matchExpressions)) {
    return [{ reason: "FieldValueRequired", field: "spec.selector", message: "Required value" }];
  }
  const templateLabels = read(obj, "spec.template.metadata.labels");
  const labels = isObject(templateLabels) ? templateLabels : {};
  const matches = Object.entries(isObject(matchLabels) ? matchLabels : {}).every(([k, v]) => labels[k] === v);
  if (matches) return [];
  return [
    {
      reason: "FieldValueInvalid",
      field: "spec.template.metadata.labels",
      message: `Invalid value: ${JSON.stringify(labels)}: \`selector\` does not match template \`labels\``,
    },
  ];
}

const deploymentHooks: ResourceHooks = {
  prepareCreate(obj) {
    const spec = section(obj, "spec");
    spec.replicas ??= 1;
  },
  validate: validateDeployment,
};

export function builtinResources(): ResourceType[] {
  return [
    builtin({
      group: "",
      version: "v1",
      plural: "pods",
      kind: "Pod",
      shortNames: ["po"],
      categories: ["all"],
      statusSubresource: true,
      returnDeletedObject: true,
      selectableFields: [
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
      ],
      columns: podColumns,
      hooks: podHooks,
    }),
    builtin({
      group: "",
      version: "v1",
      plural: "services",
      kind: "Service",
      shortNames: ["svc"],
      categories: ["all"],
      statusSubresource: true,
      returnDeletedObject: true,
      nameRule: "label",
      columns: serviceColumns,
      hooks: serviceHooks,
    }),
    builtin({
      group: "",
      version: "v1",
      plural: "serviceaccounts",
      kind: "ServiceAccount",
      shortNames: ["sa"],
      columns: [nameColumn, column("Secrets", (o) => list(o, "secrets").length), ageColumn],
    }),
    builtin({
      group: "",
      version: "v1",
      plural: "secrets",
      kind: "Secret",
      selectableFields: ["type"],
      columns: [nameColumn, column("Type", (o) => o.type), column("Data", dataCount), ageColumn],
      hooks: secretHooks,
    }),
    builtin({
      group: "",
      version: "v1",
      plural: "configmaps",
      kind: "ConfigMap",
      shortNames: ["cm"],
      columns: [nameColumn, column("Data", dataCount), ageColumn],
    }),
    builtin({
      group: "",
      version: "v1",
      plural: "events",
      kind: "Event",
      shortNames: ["ev"],
      storage: "events",
      selectableFields: [
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
      ],
      columns: eventColumns,
    }),
    builtin({
      group: "events.k8s.io",
      version: "v1",
      plural: "events",
      kind: "Event",
      shortNames: ["ev"],
      storage: "events",
      storageVersion: false,
      selectableFields: [
        "regarding.kind",
        "regarding.namespace",
        "regarding.name",
        "regarding.uid",
        "regarding.apiVersion",
        "regarding.resourceVersion",
        "regarding.fieldPath",
        "reason",
        "reportingController",
        "type",
      ],
      fromStorage: coreEventToEventsV1,
      toStorage: eventsV1ToCoreEvent,
    }),
    builtin({
      group: "",
      version: "v1",
      plural: "namespaces",
      kind: "Namespace",
      namespaced: false,
      shortNames: ["ns"],
      statusSubresource: true,
      nameRule: "label",
      selectableFields: ["status.phase"],
      columns: [nameColumn, column("Status", (o) => read(o, "status.phase")), ageColumn],
      hooks: namespaceHooks,
    }),
    builtin({
      group: "apps",
      version: "v1",
      plural: "deployments",
      kind: "Deployment",
      shortNames: ["deploy"],
      categories: ["all"],
      statusSubresource: true,
      columns: [
        nameColumn,
        column(
          "Ready",
          (o) => `${Number(read(o, "status.readyReplicas") ?? 0)}/${Number(read(o, "spec.replicas") ?? 1)}`,
        ),
        column("Up-to-date", (o) => Number(read(o, "status.updatedReplicas") ?? 0)),
        column("Available", (o) => Number(read(o, "status.availableReplicas") ?? 0)),
        ageColumn,
      ],
      hooks: deploymentHooks,
    }),
    builtin({
      group: "coordination.k8s.io",
      version: "v1",
      plural: "leases",
      kind: "Lease",
      columns: [nameColumn, column("Holder", (o) => read(o, "spec.holderIdentity") ?? ""), ageColumn],
    }),
    // Stored and served, with no semantics of their own: what `kubectl apply -k .` installs besides
    // the resources above (the double authorizes nothing and runs no disruption controller).
    builtin({
      group: "rbac.authorization.k8s.io",
      version: "v1",
      plural: "clusterroles",
      kind: "ClusterRole",
      namespaced: false,
    }),
    builtin({
      group: "rbac.authorization.k8s.io",
      version: "v1",
      plural: "clusterrolebindings",
      kind: "ClusterRoleBinding",
      namespaced: false,
    }),
    builtin({ group: "rbac.authorization.k8s.io", version: "v1", plural: "roles", kind: "Role" }),
    builtin({
      group: "rbac.authorization.k8s.io",
      version: "v1",
      plural: "rolebindings",
      kind: "RoleBinding",
    }),
    builtin({
      group: "networking.k8s.io",
      version: "v1",
      plural: "networkpolicies",
      kind: "NetworkPolicy",
      shortNames: ["netpol"],
    }),
    builtin({
      group: "policy",
      version: "v1",
      plural: "poddisruptionbudgets",
      kind: "PodDisruptionBudget",
      shortNames: ["pdb"],
      statusSubresource: true,
    }),
    builtin({
      group: "apiextensions.k8s.io",
      version: "v1",
      plural: "customresourcedefinitions",
      kind: "CustomResourceDefinition",
      namespaced: false,
      shortNames: ["crd", "crds"],
      categories: ["api-extensions"],
      statusSubresource: true,
      columns: [nameColumn, column("Created At", (o) => o.metadata.creationTimestamp)],
      hooks: crdHooks,
    }),
  ];
}
