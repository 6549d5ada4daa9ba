/** The data plane's Actions: applied with or without the event bus; one that cannot compile is named. */
import assert from "node:assert/strict";
import { it } from "node:test";
import type { Action } from "../../src/api/v1alpha1/index.ts";
import { DataPlane } from "../../src/app/index.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { LocalSecretResolver } from "../../src/secrets/index.ts";

const action = (name: string, suspend = false): Action => ({
  apiVersion: "patchbay.dev/v1alpha1",
  kind: "Action",
  metadata: { name },
  spec: {
    command: "kubectl get pod {{data.pod}}",
    executors: ["kubectl"],
    result: { mode: "attach" },
    suspend,
  },
});

const plane = (eventBus?: string) =>
  new DataPlane({
    ingress: { host: "127.0.0.1", port: 0 },
    management: { host: "127.0.0.1", port: 0 },
    secrets: new LocalSecretResolver(),
    log: createLogger("test", "error"),
    eventBus,
  });

it("applies Actions on the in-memory path", () => {
  assert.deepEqual(plane().setActions([action("a")]), []);
});

it("applies Actions when the event bus is configured too (they run in its actions stage), naming one that cannot compile", () => {
  const broken: Action = {
    ...action("broken"),
    spec: { ...action("broken").spec, command: "{{data.pod}} get" },
  };
  const problems = plane("nats://127.0.0.1:4222").setActions([action("a"), action("b", true), broken]);
  assert.deepEqual(
    problems.map((problem) => problem.name),
    ["broken"],
  );
  assert.match(problems[0]!.message, /^spec\.command: /);
});
