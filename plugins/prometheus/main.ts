/**
 * prometheus: receives Alertmanager webhooks (POST /sources/<name>/…) and turns each alert into an
 * event, firing or resolved, with a stable id so Alertmanager's repeated notifications dedup.
 */
import { serveSource, type IncomingRequest, type RequestResult } from "@patchbay/sdk";
import { alertEvent, configSchema, selectAlerts, type PrometheusConfig } from "./alerts.ts";
import { parseWebhookPayload, PayloadError } from "./payload.ts";

await serveSource<PrometheusConfig>({
  name: "prometheus",
  version: "1.0.0",
  description: "Turns Alertmanager webhook notifications (format version 4) into events, one per alert.",
  configSchema,
  async handleRequest(request, { config, log }) {
    const refusal = refuse(request);
    if (refusal) return refusal;
    let payload;
    try {
      payload = parseWebhookPayload(request.body);
    } catch (err) {
      if (err instanceof PayloadError) return failure(400, "invalid-payload", err.message);
      throw err;
    }
    if (payload.truncatedAlerts > 0) {
      log.warn("Alertmanager truncated this notification; raise max_alerts to see every alert", {
        groupKey: payload.groupKey,
        truncatedAlerts: payload.truncatedAlerts,
      });
    }
    const selected = selectAlerts(payload.alerts, config);
    const events = selected.map((alert) => alertEvent(alert, payload, config));
    return {
      ...json(events.length > 0 ? 202 : 200, { received: payload.alerts.length, accepted: events.length }),
      events,
    };
  },
});

function refuse(request: IncomingRequest): RequestResult | undefined {
  if (request.method !== "POST") {
    const refusal = failure(
      405,
      "method-not-allowed",
      `method ${request.method} not allowed: Alertmanager webhooks are POSTed`,
    );
    return { ...refusal, headers: { ...refusal.headers, allow: "POST" } };
  }
  const type = request.headers["content-type"];
  if (type !== undefined && !/^application\/json\b/i.test(type)) {
    return failure(415, "unsupported-media-type", `content-type must be application/json, got ${type}`);
  }
  return undefined;
}

/** Errors in the shape every Patchbay endpoint answers with. */
function failure(status: number, code: string, message: string): RequestResult {
  return json(status, { error: { code, message } });
}

function json(status: number, body: unknown): RequestResult {
  return { status, headers: { "content-type": "application/json" }, body };
}
