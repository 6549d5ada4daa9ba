/**
 * A thin SourceDirectory over real gRPC: Describe and IngressPolicy once, HandleExternalRequest per
 * request, protocol events mapped to CloudEvents — what the hub does, minus reconnects and state.
 */
import * as grpc from "@grpc/grpc-js";
import { Severity, SourceClient, type Event } from "@patchbay/sdk/protocol";
import type { CloudEvent } from "../../src/events/cloudevent.ts";
import type {
  ExternalRequest,
  ExternalResponse,
  SourceDirectory,
  SourceInfo,
} from "../../src/ingress/index.ts";

type Client = InstanceType<typeof SourceClient>;

const severities: Record<number, CloudEvent["severity"]> = {
  [Severity.SEVERITY_DEBUG]: "debug",
  [Severity.SEVERITY_INFO]: "info",
  [Severity.SEVERITY_WARNING]: "warning",
  [Severity.SEVERITY_ERROR]: "error",
  [Severity.SEVERITY_CRITICAL]: "critical",
};

export class GrpcSourceDirectory implements SourceDirectory {
  readonly #sources = new Map<string, { info: SourceInfo; client: Client }>();

  async add(name: string, address: string): Promise<SourceInfo> {
    const client = new SourceClient(address, grpc.credentials.createInsecure());
    const described = await unary<Record<string, never>, { capabilities?: { externalRequests: boolean } }>(
      (cb) => client.describe({}, new grpc.Metadata(), { deadline: Date.now() + 2_000 }, cb),
    );
    const policy = await unary<unknown, { acceptCloudevents: boolean; allowedTypes: string[] }>((cb) =>
      client.ingressPolicy(
        { sourceName: name, configJson: "{}" },
        new grpc.Metadata(),
        { deadline: Date.now() + 2_000 },
        cb,
      ),
    ).catch(() => ({ acceptCloudevents: false, allowedTypes: [] }));
    const info: SourceInfo = {
      name,
      ready: true,
      reason: "",
      acceptsCloudEvents: policy.acceptCloudevents,
      allowedTypes: policy.allowedTypes,
      acceptsExternalRequests: described.capabilities?.externalRequests ?? false,
    };
    this.#sources.set(name, { info, client });
    return info;
  }

  lookup(name: string): SourceInfo | undefined {
    return this.#sources.get(name)?.info;
  }

  async handleExternalRequest(
    name: string,
    request: ExternalRequest,
    deadlineMs: number,
  ): Promise<ExternalResponse> {
    const client = this.#sources.get(name)!.client;
    const response = await unary<
      unknown,
      { status: number; headers: Record<string, string>; body: Buffer; events: Event[] }
    >((cb) =>
      client.handleExternalRequest(
        { sourceName: name, configJson: "{}", ...request },
        new grpc.Metadata(),
        { deadline: Date.now() + deadlineMs },
        cb,
      ),
    ).catch((err: grpc.ServiceError) => {
      const code =
        err.code === grpc.status.DEADLINE_EXCEEDED
          ? "timeout"
          : err.code === grpc.status.UNAVAILABLE
            ? "unavailable"
            : err.code === grpc.status.UNIMPLEMENTED
              ? "unsupported"
              : "failed";
      throw Object.assign(new Error(err.details || err.message), { code });
    });
    return {
      status: response.status || 202,
      headers: response.headers,
      body: Buffer.from(response.body),
      events: response.events.map((e) => toCloudEvent(name, e)),
    };
  }

  close(): void {
    for (const { client } of this.#sources.values()) client.close();
  }
}

function toCloudEvent(source: string, event: Event): CloudEvent {
  const cloudEvent: CloudEvent = {
    ...event.extensions,
    specversion: "1.0",
    id: event.id,
    source,
    type: event.type,
    time: (event.time ?? new Date()).toISOString(),
  };
  if (event.subject) cloudEvent.subject = event.subject;
  const severity = severities[event.severity];
  if (severity) cloudEvent.severity = severity;
  if (event.data.length > 0) cloudEvent.data = JSON.parse(Buffer.from(event.data).toString("utf8"));
  return cloudEvent;
}

function unary<_Req, Res>(
  call: (cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown,
): Promise<Res> {
  return new Promise((resolve, reject) => call((err, res) => (err ? reject(err) : resolve(res))));
}
