/**
 * Reads the same custom resources the operator reconciles from YAML files, for `patchbay local`.
 * A bad document is reported with its file and position and skipped; the others still load.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import {
  API_VERSION,
  NAME_PATTERN,
  validateActionSpec,
  validateExecutorSpec,
  validateNotifierSpec,
  validateSourceSpec,
  type Action,
  type ExecutorPlugin,
  type Notifier,
  type SourcePlugin,
} from "../api/v1alpha1/index.ts";

export interface ManifestSet {
  sources: Located<SourcePlugin>[];
  executors: Located<ExecutorPlugin>[];
  notifiers: Located<Notifier>[];
  actions: Located<Action>[];
  /** One line per rejected document: "config/local/x.yaml#2: spec.prefixes …". */
  problems: string[];
}

/** A resource with the folder it came from (process runtimes run relative to it). */
export interface Located<T> {
  resource: T;
  file: string;
  directory: string;
}

const KINDS = ["SourcePlugin", "ExecutorPlugin", "Notifier", "Action"] as const;

export async function loadManifests(directory: string): Promise<ManifestSet> {
  const set: ManifestSet = { sources: [], executors: [], notifiers: [], actions: [], problems: [] };
  let files: string[];
  try {
    files = (await readdir(directory)).filter((file) => /\.ya?ml$/.test(file)).sort();
  } catch (err) {
    set.problems.push(`${directory}: cannot read the folder: ${(err as NodeJS.ErrnoException).code ?? err}`);
    return set;
  }
  for (const file of files) {
    const fullPath = path.join(directory, file);
    addDocuments(set, fullPath, path.resolve(directory), await readFile(fullPath, "utf8"));
  }
  rejectDuplicates(set);
  return set;
}

export function addDocuments(set: ManifestSet, file: string, directory: string, text: string): void {
  parseAllDocuments(text).forEach((document, index) => {
    const where = `${file}#${index + 1}`;
    if (document.errors.length > 0) {
      set.problems.push(`${where}: not valid YAML: ${document.errors[0]!.message}`);
      return;
    }
    let object: Record<string, unknown> | null;
    try {
      // toJS resolves aliases: an undefined one, or an alias bomb past yaml's maxAliasCount, throws.
      object = document.toJS() as Record<string, unknown> | null;
    } catch (err) {
      set.problems.push(`${where}: not valid YAML: ${(err as Error).message}`);
      return;
    }
    if (object === null) return;
    const problems = check(object);
    if (problems.length > 0) {
      set.problems.push(`${where}: ${problems.join("; ")}`);
      return;
    }
    const located = { file: where, directory };
    if (object.kind === "SourcePlugin")
      set.sources.push({ ...located, resource: object as unknown as SourcePlugin });
    else if (object.kind === "ExecutorPlugin")
      set.executors.push({ ...located, resource: object as unknown as ExecutorPlugin });
    else if (object.kind === "Action")
      set.actions.push({ ...located, resource: object as unknown as Action });
    else set.notifiers.push({ ...located, resource: object as unknown as Notifier });
  });
}

function check(object: Record<string, unknown>): string[] {
  if (typeof object !== "object" || Array.isArray(object)) return ["a document must be a Kubernetes object"];
  if (object.apiVersion !== API_VERSION)
    return [`apiVersion must be ${API_VERSION} (got ${String(object.apiVersion)})`];
  const kind = object.kind as (typeof KINDS)[number];
  if (!KINDS.includes(kind)) return [`kind must be one of ${KINDS.join(", ")} (got ${String(object.kind)})`];
  const name = (object.metadata as { name?: unknown } | undefined)?.name;
  if (typeof name !== "string" || !NAME_PATTERN.test(name) || name.length > 63) {
    return [
      `${kind} metadata.name must be a DNS-1035 label (lower-case letters, digits and '-', starting with a letter, at most 63)`,
    ];
  }
  const spec = object.spec as never;
  const problems =
    kind === "SourcePlugin"
      ? validateSourceSpec(spec)
      : kind === "ExecutorPlugin"
        ? validateExecutorSpec(spec)
        : kind === "Action"
          ? validateActionSpec(spec)
          : validateNotifierSpec(spec);
  return problems.map((problem) => `${kind} '${name}': ${problem}`);
}

function rejectDuplicates(set: ManifestSet): void {
  for (const key of ["sources", "executors", "notifiers", "actions"] as const) {
    const seen = new Map<string, string>();
    const list = set[key] as Located<{ kind: string; metadata: { name: string } }>[];
    set[key] = list.filter((item) => {
      const { kind, metadata } = item.resource;
      const first = seen.get(metadata.name);
      if (first) {
        set.problems.push(
          `${item.file}: ${kind} '${metadata.name}' is already declared in ${first}; ignoring this one`,
        );
        return false;
      }
      seen.set(metadata.name, item.file);
      return true;
    }) as never;
  }
}
