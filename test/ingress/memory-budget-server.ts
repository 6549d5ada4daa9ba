/**
 * A real ingress in front of a real router, in its own process so its RSS can be measured apart from
 * the client that floods it. The only notifier's receiver starts down. Answers IPC messages:
 *   "measure"         → { rss, memory: router.memoryUse(), delivered }
 *   "receiver-up"     → the receiver listens again
 *   "delivered-ids"   → the ids the receiver has seen
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Registry } from "prom-client";
import type { CloudEvent } from "../../src/events/cloudevent.ts";
import { startIngress } from "../../src/ingress/index.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { Router } from "../../src/router/index.ts";
import { startReceiver, webhookRoute } from "../router/helpers.ts";
import { FakeSources } from "./fakes.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const budget = Number(process.env.MEMORY_BUDGET_BYTES);
const receiver = await startReceiver();
await receiver.stop();
const router = new Router({
  registry: new Registry(),
  logger: createLogger("memory-budget-server", "error"),
  memoryBudgetBytes: budget,
});
router.setNotifiers([webhookRoute("hook", receiver, { maxRetries: 1_000, timeoutSeconds: 5 })]);
const ingress = await startIngress({
  host: "127.0.0.1",
  port: 0,
  sources: new FakeSources([{ name: "alerts" }]),
  sink: router,
  maxBodyBytes: 2 * 1024 * 1024,
  log: createLogger("memory-budget-server", "error"),
});

process.on("message", (message: string) => {
  void answer(message).then((reply) => process.send!(reply));
});

async function answer(message: string): Promise<unknown> {
  switch (message) {
    case "measure":
      gc();
      return {
        rss: process.memoryUsage().rss,
        memory: router.memoryUse(),
        delivered: router.stats().notifiers.hook!.delivered,
      };
    case "receiver-up":
      await receiver.restart();
      return "up";
    case "delivered-ids":
      return receiver.requests.map((request) => (JSON.parse(request.body) as CloudEvent).id);
    default:
      return `unknown message ${message}`;
  }
}

process.send!({ url: ingress.url });
