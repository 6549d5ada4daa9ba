/**
 * Any HTTP endpoint. "json" and "cloudevents-structured" send the CloudEvent as the JSON body
 * (application/json or application/cloudevents+json); "cloudevents-binary" follows the CloudEvents HTTP
 * binding's binary mode via the cloudevents SDK: attributes as ce-* headers, data as the body.
 */
import { CloudEvent as SdkCloudEvent, HTTP } from "cloudevents";
import type { WebhookMode } from "../api/v1alpha1/index.ts";
import type { CloudEvent } from "../events/cloudevent.ts";
import { post } from "./http.ts";
import type { DeliveryOutcome, NotifierSink } from "./sink.ts";

export interface WebhookOptions {
  mode?: WebhookMode;
  /** Extra headers, already resolved; they cannot replace content-type or ce-* headers. */
  headers?: Record<string, string>;
}

export interface RenderedRequest {
  headers: Record<string, string>;
  body: string;
}

export function renderWebhook(event: CloudEvent, mode: WebhookMode = "json"): RenderedRequest {
  switch (mode) {
    case "json":
      return { headers: { "content-type": "application/json; charset=utf-8" }, body: JSON.stringify(event) };
    case "cloudevents-structured":
      return {
        headers: { "content-type": "application/cloudevents+json; charset=utf-8" },
        body: JSON.stringify(event),
      };
    case "cloudevents-binary":
      return binary(event);
  }
}

function binary(event: CloudEvent): RenderedRequest {
  // Text data without a declared content type would otherwise be labelled application/json.
  const datacontenttype =
    event.datacontenttype ?? (typeof event.data === "string" ? "text/plain; charset=utf-8" : undefined);
  const message = HTTP.binary(
    new SdkCloudEvent(datacontenttype ? { ...event, datacontenttype } : { ...event }),
  );
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    headers[name] = name.startsWith("ce-") ? percentEncode(String(value)) : String(value);
  }
  const body = message.body;
  return { headers, body: body === undefined || body === null ? "" : String(body) };
}

/**
 * The HTTP binding (§3.1.3.2) percent-encodes header values outside printable ASCII, and space, '"' and
 * '%', as UTF-8; HTTP cannot carry them raw.
 */
function percentEncode(value: string): string {
  let out = "";
  for (const char of value) {
    const code = char.codePointAt(0) as number;
    if (code > 0x20 && code < 0x7f && char !== '"' && char !== "%") out += char;
    else
      for (const byte of Buffer.from(char, "utf8"))
        out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

export class WebhookSink implements NotifierSink {
  readonly type = "webhook";
  readonly #url: string;
  readonly #mode: WebhookMode;
  readonly #headers: Record<string, string>;

  constructor(url: string, options: WebhookOptions = {}) {
    this.#url = url;
    this.#mode = options.mode ?? "json";
    this.#headers = {};
    for (const [name, value] of Object.entries(options.headers ?? {}))
      this.#headers[name.toLowerCase()] = value;
  }

  deliver(event: CloudEvent, signal: AbortSignal): Promise<DeliveryOutcome> {
    let rendered: RenderedRequest;
    try {
      rendered = renderWebhook(event, this.#mode);
    } catch (error) {
      return Promise.resolve({
        kind: "permanent",
        reason: `the event is not a valid CloudEvent for ${this.#mode}: ${(error as Error).message}`,
      });
    }
    const headers = { ...this.#headers, ...rendered.headers };
    return post({ url: this.#url, headers, body: rendered.body }, signal);
  }
}
