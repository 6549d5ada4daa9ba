/** The data plane's Actions: refused, with the reason, where they cannot run yet (the event bus path). */
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

it("reports every Action that is not suspended as not running when the event bus is configured", () => {
  assert.deepEqual(plane("nats://127.0.0.1:4222").setActions([action("a"), action("b", true)]), [
    { name: "a", message: "Actions do not run yet when events are stored in the event bus (--event-bus)" },
  ]);
});
