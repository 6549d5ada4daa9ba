/**
 * The CRDs in crds/: shape (group, version, scope, status subresource, printer columns, names,
 * category), schemas (structural, a description on every field, defaults that satisfy their own
 * schema) and CEL rules (parse, message, the fields they
 * read exist, and what they read is bounded so the API server's cost estimate stays low).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CRD_FILES, readObjects, type K8sObject } from "./kubectl.ts";
import { celFieldPaths, parseCel } from "../../src/api/cel.ts";
import { schemaValidator, type JsonSchema } from "../../src/api/schema-validator.ts";

const crds = new Map<string, K8sObject>(CRD_FILES.map((file) => [file, readObjects(file)[0]!]));
const byKind = (kind: string) => [...crds.values()].find((crd) => crd.spec.names.kind === kind)!;
const schemaOf = (crd: K8sObject): JsonSchema => crd.spec.versions[0].schema.openAPIV3Schema;

/** Short names of the built-in resources of Kubernetes 1.32 (`kubectl api-resources`). */
const BUILT_IN_SHORT_NAMES = [
  "cs",
  "cm",
  "ep",
  "ev",
  "limits",
  "ns",
  "no",
  "pvc",
  "pv",
  "po",
  "rc",
  "quota",
  "sa",
  "svc",
  "crd",
  "crds",
  "ds",
  "deploy",
  "rs",
  "sts",
  "hpa",
  "cj",
  "csr",
  "ing",
  "netpol",
  "pdb",
  "pc",
  "sc",
  "ingclass",
  "vac",
];

interface SchemaNode {
  path: string;
  schema: JsonSchema;
  /** Lists and maps above this node, with whether each is bounded (maxItems / maxProperties). */
  collections: { path: string; bounded: boolean }[];
}

function* walk(
  schema: JsonSchema,
  path = "",
  collections: SchemaNode["collections"] = [],
): Generator<SchemaNode> {
  yield { path, schema, collections };
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    yield* walk(child, `${path}.${name}`, collections);
  }
  if (schema.items) {
    yield* walk(schema.items, `${path}[]`, [
      ...collections,
      { path, bounded: schema.maxItems !== undefined },
    ]);
  }
  if (typeof schema.additionalProperties === "object") {
    const bounded = schema.maxProperties !== undefined;
    yield* walk(schema.additionalProperties, `${path}{}`, [...collections, { path, bounded }]);
  }
}

function resolve(schema: JsonSchema, fields: string[]): JsonSchema | undefined {
  let node: JsonSchema | undefined = schema;
  for (const field of fields) {
    // A printer column's JSONPath filter ([?(...)]) steps into a list's items.
    if (node?.type === "array") node = node.items;
    node = node?.properties?.[field];
  }
  return node;
}

for (const [file, crd] of crds) {
  describe(file, () => {
    const schema = schemaOf(crd);
    const nodes = [...walk(schema)];

    it("is patchbay.dev/v1alpha1, namespaced, served and stored, with the status subresource", () => {
      assert.equal(crd.apiVersion, "apiextensions.k8s.io/v1");
      assert.equal(crd.spec.group, "patchbay.dev");
      assert.equal(crd.metadata.name, `${crd.spec.names.plural}.patchbay.dev`);
      assert.equal(crd.spec.scope, "Namespaced");
      assert.equal(crd.spec.versions.length, 1);
      const [version] = crd.spec.versions;
      assert.equal(version.name, "v1alpha1");
      assert.equal(version.served, true);
      assert.equal(version.storage, true);
      assert.deepEqual(version.subresources, { status: {} });
    });

    it("is in the patchbay category, with short names that clash with no built-in resource", () => {
      assert.ok(crd.spec.names.categories.includes("patchbay"));
      assert.ok(
        !crd.spec.names.categories.includes("all"),
        "Patchbay resources stay out of `kubectl get all`",
      );
      assert.ok(crd.spec.names.shortNames.length > 0);
      for (const short of crd.spec.names.shortNames) {
        assert.ok(!BUILT_IN_SHORT_NAMES.includes(short), `${short} is a built-in short name`);
        assert.match(short, /^[a-z]+$/);
      }
    });

    it("prints Ready and Reason from the Ready condition, and Age", () => {
      const columns = crd.spec.versions[0].additionalPrinterColumns as {
        name: string;
        jsonPath: string;
        type: string;
      }[];
      const column = (name: string) => columns.find((c) => c.name === name);
      assert.equal(column("Ready")?.jsonPath, '.status.conditions[?(@.type=="Ready")].status');
      assert.equal(column("Reason")?.jsonPath, '.status.conditions[?(@.type=="Ready")].reason');
      assert.deepEqual(column("Age"), { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" });
      for (const { name, jsonPath } of columns) {
        const fields = jsonPath
          .replace(/\[.*\]/, "")
          .split(".")
          .slice(1);
        if (fields[0] === "metadata") continue;
        assert.ok(resolve(schema, fields), `column ${name} reads ${jsonPath}, which is not in the schema`);
      }
    });

    it("declares metadata as a bare object, as a real API server requires", () => {
      assert.deepEqual(schema.properties?.metadata, { type: "object" });
    });

    it("has a description on every field, for kubectl explain", () => {
      const missing = nodes.filter(({ path, schema: node }) => {
        const isArrayItem = path.endsWith("[]");
        // metadata is the API server's own: a real server refuses anything there but `type: object`.
        return (
          !isArrayItem &&
          path !== "" &&
          path !== ".metadata" &&
          !(typeof node.description === "string" && node.description.length > 0)
        );
      });
      assert.deepEqual(
        missing.map((n) => n.path),
        [],
      );
      // Array items that are objects describe themselves too.
      const items = nodes.filter(
        (n) => n.path.endsWith("[]") && n.schema.type === "object" && !n.schema.description,
      );
      assert.deepEqual(
        items.map((n) => n.path),
        [],
      );
    });

    it("is structural: every node has a type, except int-or-string nodes", () => {
      const untyped = nodes.filter(
        ({ schema: node }) => !node.type && node["x-kubernetes-int-or-string"] !== true,
      );
      assert.deepEqual(
        untyped.map((n) => n.path),
        [],
      );
      for (const { path, schema: node } of nodes) {
        if (node["x-kubernetes-int-or-string"])
          assert.deepEqual(node.anyOf, [{ type: "integer" }, { type: "string" }], path);
      }
    });

    it("has defaults that satisfy their own field's schema", () => {
      const withDefaults = nodes.filter((n) => n.schema.default !== undefined);
      for (const { path, schema: node } of withDefaults) {
        const { default: value, ...rest } = node;
        assert.deepEqual(schemaValidator(rest).validate(value), [], `default of ${path}`);
      }
    });

    it("keeps conditions per metav1.Condition", () => {
      const conditions = schema.properties!.status!.properties!.conditions!;
      assert.equal(conditions["x-kubernetes-list-type"], "map");
      assert.deepEqual(conditions["x-kubernetes-list-map-keys"], ["type"]);
      const item = conditions.items!;
      assert.deepEqual(item.required, ["type", "status", "lastTransitionTime", "reason", "message"]);
      assert.deepEqual(item.properties!.status!.enum, ["True", "False", "Unknown"]);
      assert.equal(item.properties!.lastTransitionTime!.format, "date-time");
      assert.equal(item.properties!.observedGeneration!.type, "integer");
      assert.ok(typeof item.properties!.reason!.pattern === "string");
    });

    describe("CEL rules", () => {
      const rules = nodes.flatMap((node) =>
        (
          (node.schema["x-kubernetes-validations"] as { rule: unknown; message: unknown }[] | undefined) ?? []
        ).map((rule) => ({ ...rule, node })),
      );

      it("are strings the evaluator parses, each with a message", () => {
        assert.ok(rules.length > 0);
        for (const { rule, message, node } of rules) {
          assert.equal(typeof rule, "string", node.path);
          assert.ok(
            typeof message === "string" && message.length > 10,
            `${node.path}: ${String(rule)} needs a message`,
          );
          assert.doesNotThrow(() => parseCel(rule as string), `${node.path}: ${String(rule)}`);
        }
      });

      it("read only fields that exist, and only bounded strings and collections", () => {
        for (const { rule, node } of rules) {
          if (node.collections.some((c) => !c.bounded)) {
            assert.fail(
              `${node.path}: rule ${String(rule)} sits in an unbounded list or map (set maxItems/maxProperties)`,
            );
          }
          for (const fields of celFieldPaths(rule as string)) {
            if (node.path === "" && fields[0] === "metadata") {
              assert.ok(
                fields.length === 1 || ["name", "generateName"].includes(fields[1]!),
                `rules may read metadata.name only: ${rule}`,
              );
              continue;
            }
            const target = resolve(node.schema, fields);
            assert.ok(
              target,
              `${node.path}: rule ${String(rule)} reads ${fields.join(".")}, not in the schema`,
            );
          }
          if (/matches\(|size\(/.test(rule as string)) {
            const strings = celFieldPaths(rule as string)
              .filter((fields) => fields[0] !== "metadata")
              .map((fields) => resolve(node.schema, fields)!)
              .filter((target) => target.type === "string");
            if (node.schema.type === "string") strings.push(node.schema);
            for (const target of strings) {
              assert.ok(
                target.maxLength !== undefined || target.enum !== undefined,
                `${node.path}: ${rule} reads an unbounded string`,
              );
            }
          }
        }
      });
    });
  });
}

describe("the plugin CRDs", () => {
  it("SourcePlugin and ExecutorPlugin share one runtime, config and status schema", () => {
    const source = schemaOf(byKind("SourcePlugin")).properties!;
    const executor = schemaOf(byKind("ExecutorPlugin")).properties!;
    assert.deepEqual(executor.spec!.properties!.runtime, source.spec!.properties!.runtime);
    assert.deepEqual(executor.spec!.properties!.config, source.spec!.properties!.config);
    assert.deepEqual(executor.status, source.status);
  });

  it("keeps config free-form and unpruned", () => {
    for (const kind of ["SourcePlugin", "ExecutorPlugin"]) {
      const config = schemaOf(byKind(kind)).properties!.spec!.properties!.config!;
      assert.equal(config.type, "object");
      assert.equal(config["x-kubernetes-preserve-unknown-fields"], true);
    }
  });
});
