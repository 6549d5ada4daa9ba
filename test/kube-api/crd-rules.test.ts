/**
 * The double refuses the CRDs a real kube-apiserver (v1.26) refuses, with the real server's texts
 * (crd-schema-rules.ts): the CRDs Patchbay shipped before the fix, through the real kubectl, with the
 * message a real server gave; each rule on a minimal CRD; and the generated CRDs in crds/ accepted.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { ApiError, startKubeApiDouble } from "../support/kube-api/index.ts";
import type { KubeApiDouble } from "../support/kube-api/index.ts";

/** crds/patchbay.dev_executorplugins.yaml as it was before the fix: a description under metadata. */
const shippedCrdPath = fileURLToPath(
  new URL("./fixtures/executorplugins-v0.1-metadata-description.crd.yaml", import.meta.url),
);
const repositoryRoot = fileURLToPath(new URL("../../", import.meta.url));

/** The Status message kube-apiserver v1.26.0 answered for that file (quoted in issue 10). */
const REAL_SERVER_MESSAGE =
  'CustomResourceDefinition.apiextensions.k8s.io "executorplugins.patchbay.dev" is invalid: spec.validation.openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified';

/** How kubectl prints that Status for one object: its kind, name and the causes, field by field. */
const KUBECTL_MESSAGE =
  'The CustomResourceDefinition "executorplugins.patchbay.dev" is invalid: spec.validation.openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified\n';

let api: KubeApiDouble;
let kubeconfig: string;
let cacheDir: string;

before(async () => {
  api = await startKubeApiDouble();
  kubeconfig = await api.writeKubeconfig();
  cacheDir = await mkdtemp(join(tmpdir(), "kubectl-cache-"));
});

after(async () => {
  await api.close();
  await rm(cacheDir, { recursive: true, force: true });
});

function kubectl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      "kubectl",
      ["--kubeconfig", kubeconfig, "--cache-dir", cacheDir, ...args],
      { timeout: 30_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

/** The 422 Status the double answers for `crd`, or undefined when it accepts it. */
async function refusal(crd: object): Promise<ApiError["status"] | undefined> {
  try {
    await api.registerCrd(crd);
    return undefined;
  } catch (error) {
    if (error instanceof ApiError) return error.status;
    throw error;
  }
}

describe("the CRDs shipped before the fix", () => {
  it("are refused by kubectl apply with the real server's message, and none is created", async () => {
    const result = await kubectl(["apply", "-f", shippedCrdPath]);
    assert.notEqual(result.code, 0);
    assert.equal(result.stderr, KUBECTL_MESSAGE);
    const list = await kubectl(["get", "crd", "-o", "name"]);
    assert.doesNotMatch(list.stdout, /executorplugins/);
  });

  it("get a 422 Invalid Status shaped like the real server's", async () => {
    const crd = parse(await readFile(shippedCrdPath, "utf8")) as object;
    assert.deepEqual(await refusal(crd), {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: REAL_SERVER_MESSAGE,
      reason: "Invalid",
      details: {
        name: "executorplugins.patchbay.dev",
        group: "apiextensions.k8s.io",
        kind: "CustomResourceDefinition",
        causes: [
          {
            reason: "FieldValueForbidden",
            message:
              "Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified",
            field: "spec.validation.openAPIV3Schema.properties[metadata]",
          },
        ],
      },
      code: 422,
    });
  });
});

describe("the generated CRDs in crds/", () => {
  it("install with kubectl apply -k, and an update back to the shipped file is refused", async () => {
    const applied = await kubectl(["apply", "-k", join(repositoryRoot, "crds")]);
    assert.equal(applied.code, 0, applied.stderr);
    for (const name of ["sourceplugins", "executorplugins", "notifiers"]) {
      assert.match(
        applied.stdout,
        new RegExp(`customresourcedefinition.apiextensions.k8s.io/${name}.patchbay.dev created`),
      );
    }
    const update = await kubectl(["apply", "-f", shippedCrdPath]);
    assert.notEqual(update.code, 0);
    assert.equal(update.stderr, KUBECTL_MESSAGE);
  });
});

/** A minimal valid CRD whose only version has `schema` and `columns`. */
function crdWith(schema: object, columns?: object[], plural = "widgets"): object {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.example.dev` },
    spec: {
      group: "example.dev",
      names: { kind: "Widget", plural, singular: "widget", listKind: "WidgetList" },
      scope: "Namespaced",
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          schema: { openAPIV3Schema: schema },
          ...(columns ? { additionalPrinterColumns: columns } : {}),
        },
      ],
    },
  };
}

const objectWith = (spec: object) => ({ type: "object", properties: { spec } });

/** "field: message" of each cause, as the real server lists them. */
async function refusedWith(crd: object): Promise<string[]> {
  const status = await refusal(crd);
  assert.ok(status, "the double accepted a CRD a real server refuses");
  assert.equal(status.code, 422);
  return (status.details?.causes ?? []).map((cause) => `${cause.field}: ${cause.message}`);
}

const at = "spec.validation.openAPIV3Schema";

describe("each rule, with the real server's text", () => {
  it("metadata with anything but type: object", async () => {
    assert.deepEqual(
      await refusedWith(
        crdWith({ type: "object", properties: { metadata: { type: "object", description: "x" } } }),
      ),
      [
        `${at}.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified`,
      ],
    );
    // Restricting name alone is allowed, as on the server.
    assert.equal(
      await refusal(
        crdWith(
          {
            type: "object",
            properties: {
              metadata: { type: "object", properties: { name: { type: "string", maxLength: 20 } } },
            },
          },
          undefined,
          "names",
        ),
      ),
      undefined,
    );
  });

  it("a node without a type", async () => {
    assert.deepEqual(await refusedWith(crdWith(objectWith({ properties: { a: { type: "string" } } }))), [
      `${at}.properties[spec].type: Required value: must not be empty for specified object fields`,
    ]);
    assert.deepEqual(await refusedWith(crdWith(objectWith({ type: "array", items: { description: "x" } }))), [
      `${at}.properties[spec].items.type: Required value: must not be empty for specified array items`,
    ]);
    assert.deepEqual(await refusedWith(crdWith({ properties: { spec: { type: "object" } } })), [
      `${at}.type: Required value: must not be empty at the root`,
    ]);
  });

  it("an array without items", async () => {
    assert.deepEqual(await refusedWith(crdWith(objectWith({ type: "array" }))), [
      `${at}.properties[spec].items: Required value: must be specified`,
    ]);
  });

  it("int-or-string together with preserve-unknown-fields", async () => {
    const node = {
      "x-kubernetes-int-or-string": true,
      "x-kubernetes-preserve-unknown-fields": true,
      anyOf: [{ type: "integer" }, { type: "string" }],
    };
    assert.deepEqual(await refusedWith(crdWith(objectWith(node))), [
      `${at}.properties[spec].x-kubernetes-preserve-unknown-fields: Invalid value: true: must be false if x-kubernetes-int-or-string is true`,
    ]);
  });

  it("additionalProperties beside properties, and at the root", async () => {
    assert.deepEqual(
      await refusedWith(
        crdWith(
          objectWith({
            type: "object",
            properties: { a: { type: "string" } },
            additionalProperties: { type: "string" },
          }),
        ),
      ),
      [
        `${at}.properties[spec].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive`,
      ],
    );
    assert.deepEqual(
      await refusedWith(crdWith({ type: "object", additionalProperties: { type: "string" } })),
      [`${at}.additionalProperties: Forbidden: must not be used at the root`],
    );
  });

  it("a description or a type inside anyOf (not structural)", async () => {
    const node = { type: "string", anyOf: [{ type: "string", description: "x" }, { pattern: "^a" }] };
    assert.deepEqual(await refusedWith(crdWith(objectWith(node))), [
      `${at}.properties[spec].anyOf[0].description: Forbidden: must be empty to be structural`,
      `${at}.properties[spec].anyOf[0].type: Forbidden: must be empty to be structural`,
    ]);
  });

  it("a default that fails its schema, or that the schema would prune", async () => {
    const causes = await refusedWith(
      crdWith(objectWith({ type: "object", properties: { port: { type: "integer", default: "x" } } })),
    );
    assert.equal(causes.length, 1);
    assert.match(
      causes[0]!,
      /^spec\.validation\.openAPIV3Schema\.properties\[spec\]\.properties\[port\]\.default: Invalid value: .* must be of type integer/,
    );
    assert.deepEqual(
      await refusedWith(
        crdWith(
          objectWith({ type: "object", properties: { a: { type: "string" } }, default: { a: "x", b: "y" } }),
        ),
      ),
      [`${at}.properties[spec].default: Invalid value: {"a":"x","b":"y"}: must not have unknown fields`],
    );
  });

  it("list-map keys that are neither required nor defaulted, or not item properties", async () => {
    const list = (keys: string[], required: string[]) => ({
      type: "array",
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": keys,
      items: { type: "object", required, properties: { name: { type: "string" } } },
    });
    assert.deepEqual(await refusedWith(crdWith(objectWith(list(["name"], [])))), [
      `${at}.properties[spec].items.properties[name].default: Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property`,
    ]);
    assert.deepEqual(await refusedWith(crdWith(objectWith(list(["id"], ["name"])))), [
      `${at}.properties[spec].x-kubernetes-list-map-keys: Invalid value: []string{"id"}: entries must all be names of item properties`,
    ]);
  });

  it("list and map types on the wrong kind of node", async () => {
    assert.deepEqual(
      await refusedWith(crdWith(objectWith({ type: "string", "x-kubernetes-list-type": "set" }))),
      [
        `${at}.properties[spec].type: Invalid value: "string": must be array if x-kubernetes-list-type is specified`,
      ],
    );
    assert.deepEqual(
      await refusedWith(crdWith(objectWith({ type: "object", "x-kubernetes-map-type": "loose" }))),
      [
        `${at}.properties[spec].x-kubernetes-map-type: Unsupported value: "loose": supported values: "atomic", "granular"`,
      ],
    );
  });

  it("unsupported keywords", async () => {
    assert.deepEqual(
      await refusedWith(
        crdWith(objectWith({ type: "object", patternProperties: { "^a": { type: "string" } } })),
      ),
      [`${at}.properties[spec].patternProperties: Forbidden: patternProperties is not supported`],
    );
    assert.deepEqual(
      await refusedWith(crdWith(objectWith({ type: "array", uniqueItems: true, items: { type: "string" } }))),
      [
        `${at}.properties[spec].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic`,
      ],
    );
  });

  it("a printer column whose JSONPath does not start with a dot", async () => {
    const columns = [{ name: "Port", type: "integer", jsonPath: "spec.port" }];
    assert.deepEqual(await refusedWith(crdWith(objectWith({ type: "object" }), columns)), [
      `spec.additionalPrinterColumns[0].JSONPath: Invalid value: "spec.port": must be a simple json path starting with .`,
    ]);
  });

  it("versions with different schemas are named by index", async () => {
    const crd = crdWith(objectWith({ type: "object" })) as { spec: { versions: object[] } };
    crd.spec.versions = [
      { ...crd.spec.versions[0]!, storage: false },
      { name: "v2", served: true, storage: true, schema: { openAPIV3Schema: objectWith({ type: "array" }) } },
    ];
    assert.deepEqual(await refusedWith(crd), [
      "spec.versions[1].schema.openAPIV3Schema.properties[spec].items: Required value: must be specified",
    ]);
  });
});
