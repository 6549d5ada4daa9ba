/**
 * `meta.k8s.io/v1 Table` responses: what `kubectl get` asks for (`Accept: ...;as=Table`) so it can
 * print server-defined columns, including a CRD's additionalPrinterColumns.
 */

import { humanAge } from "./objects.ts";
import type { JsonObject, KubeObject } from "./objects.ts";
import type { PrinterColumn, ResourceType } from "./registry.ts";

export const nameColumn: PrinterColumn = {
  name: "Name",
  type: "string",
  format: "name",
  description: "Name must be unique within a namespace.",
  value: (o) => o.metadata.name,
};

export const ageColumn: PrinterColumn = {
  name: "Age",
  type: "date",
  description: "CreationTimestamp is a timestamp representing the server time when this object was created.",
  value: (o) => o.metadata.creationTimestamp,
};

export function wantsTable(accept: string | undefined): boolean {
  return /;\s*as=Table/.test(accept ?? "");
}

/**
 * As the apiextensions table convertor does: a string column holds what JSONPath prints (a list or an
 * object as JSON, e.g. `["echo"]`), a column of another type only a value of that type (else empty).
 */
function cell(column: PrinterColumn, obj: KubeObject): unknown {
  const value = column.value(obj);
  if (value === undefined || value === null) return null;
  switch (column.type) {
    case "string":
      return typeof value === "object" ? JSON.stringify(value) : String(value);
    case "date":
      return typeof value === "string" ? humanAge(value) : null;
    case "integer":
    case "number":
      return typeof value === "number" ? value : null;
    case "boolean":
      return typeof value === "boolean" ? value : null;
    default:
      return value;
  }
}

function rowObject(obj: KubeObject, includeObject: string): unknown {
  if (includeObject === "None") return undefined;
  if (includeObject === "Object") return obj;
  return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: obj.metadata };
}

export interface TableOptions {
  resourceVersion: string;
  /** `includeObject` query parameter: None, Metadata (default) or Object. */
  includeObject?: string | null;
  continueToken?: string;
  /** Watch events after the first carry rows only, as the real server sends them. */
  withColumns?: boolean;
}

export function toTable(rt: ResourceType, objects: KubeObject[], options: TableOptions): JsonObject {
  const columns = rt.columns ?? [nameColumn, ageColumn];
  const metadata: JsonObject = { resourceVersion: options.resourceVersion };
  if (options.continueToken) metadata.continue = options.continueToken;
  const table: JsonObject = { kind: "Table", apiVersion: "meta.k8s.io/v1", metadata };
  if (options.withColumns !== false) {
    table.columnDefinitions = columns.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? "",
      description: c.description ?? "",
      priority: c.priority ?? 0,
    }));
  }
  table.rows = objects.map((obj) => {
    const row: JsonObject = { cells: columns.map((c) => cell(c, obj)) };
    const object = rowObject(obj, options.includeObject ?? "Metadata");
    if (object !== undefined) row.object = object;
    return row;
  });
  return table;
}
