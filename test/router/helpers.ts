import { Registry } from "prom-client";
import type { CloudEvent } from "../../src/events/cloudevent.ts";
import { WebhookSink } from "../../src/notifiers/index.ts";
import { createLogger } from "../../src/observability/logger.ts";
import {
  Router,
  type NotifierRoute,
  type NotifierStats,
  type RouterOptions,
} from "../../src/router/index.ts";
import type { Receiver } from "../notifiers/receiver.ts";

export { answer, startReceiver, waitFor, type Receiver } from "../notifiers/receiver.ts";

export function newRouter(options: Partial<RouterOptions> = {}): { router: Router; registry: Registry } {
  const registry = new Registry();
  const router = new Router({ registry, logger: createLogger("router-test", "error"), ...options });
  return { router, registry };
}

export function event(id: string, overrides: Partial<CloudEvent> = {}): CloudEvent {
  return {
    specversion: "1.0",
    id,
    source: "src-a",
    type: "dev.patchbay.test",
    time: "2024-05-01T12:00:00.000Z",
    ...overrides,
  };
}

/** A webhook notifier posting to the receiver, with test-sized backoffs and no rate limit. */
export function webhookRoute(
  name: string,
  receiver: Receiver,
  delivery: NotifierRoute["delivery"] = {},
  extra: Partial<NotifierRoute> = {},
): NotifierRoute {
  return {
    name,
    type: "webhook",
    sink: new WebhookSink(receiver.url),
    delivery: { initialBackoffMs: 5, maxBackoffMs: 20, ratePerSecond: 0, timeoutSeconds: 2, ...delivery },
    ...extra,
  };
}

export function ids(receiver: Receiver): string[] {
  return receiver.requests.map((request) => (JSON.parse(request.body) as CloudEvent).id);
}

export function balanced(stats: NotifierStats): boolean {
  return stats.received === stats.delivered + stats.failed + stats.dropped + stats.queued + stats.inFlight;
}

export function metricValue(text: string, name: string, labels: string): number | undefined {
  const line = text
    .split("\n")
    .find((l) => l.startsWith(`${name}{${labels}}`) || (labels === "" && l.startsWith(`${name} `)));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}
