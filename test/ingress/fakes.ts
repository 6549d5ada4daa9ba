/** In-memory ports for the ingress tests, and a helper that starts a real ingress on 127.0.0.1. */
import type { TestContext } from "node:test";
import { startIngress, type IngressServerOptions, type RunningIngress } from "../../src/ingress/index.ts";
import type {
  ExternalRequest,
  ExternalResponse,
  SourceDirectory,
  SourceInfo,
} from "../../src/ingress/index.ts";
import type { CloudEvent } from "../../src/events/cloudevent.ts";

export class FakeSources implements SourceDirectory {
  readonly #sources = new Map<string, SourceInfo>();
  readonly requests: { name: string; request: ExternalRequest; deadlineMs: number }[] = [];
  handler: (name: string, request: ExternalRequest, deadlineMs: number) => Promise<ExternalResponse> =
    async () => ({
      status: 200,
      headers: {},
      body: Buffer.alloc(0),
      events: [],
    });

  constructor(sources: (Partial<SourceInfo> & { name: string })[]) {
    for (const s of sources) {
      this.#sources.set(s.name, {
        ready: true,
        reason: "",
        acceptsCloudEvents: true,
        allowedTypes: [],
        acceptsExternalRequests: false,
        ...s,
      });
    }
  }

  lookup(name: string): SourceInfo | undefined {
    return this.#sources.get(name);
  }

  handleExternalRequest(
    name: string,
    request: ExternalRequest,
    deadlineMs: number,
  ): Promise<ExternalResponse> {
    this.requests.push({ name, request, deadlineMs });
    return this.handler(name, request, deadlineMs);
  }
}

export class RecordingSink {
  readonly events: CloudEvent[] = [];
  publish(event: CloudEvent): void {
    this.events.push(event);
  }
}

export async function startTestIngress(
  t: TestContext | undefined,
  options: Omit<IngressServerOptions, "host" | "port">,
): Promise<RunningIngress> {
  const ingress = await startIngress({ host: "127.0.0.1", port: 0, ...options });
  t?.after(() => ingress.close(100));
  return ingress;
}

export async function json(response: Response): Promise<unknown> {
  const text = await response.text();
  assertJsonContentType(response, text);
  return JSON.parse(text);
}

function assertJsonContentType(response: Response, text: string): void {
  const type = response.headers.get("content-type") ?? "";
  if (!type.startsWith("application/json")) {
    throw new Error(`expected a JSON answer, got ${response.status} ${type}: ${text.slice(0, 200)}`);
  }
}
