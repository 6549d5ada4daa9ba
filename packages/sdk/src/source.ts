/** serveSource: a few functions in, a complete source plugin process out. */
import * as grpc from "@grpc/grpc-js";
import {
  PluginKind,
  SourceService,
  type Event,
  type ExternalRequest,
  type ExternalResponse,
  type IngressPolicyRequest,
  type IngressPolicyResponse,
  type StreamRequest,
} from "./protocol/index.ts";
import type { Logger } from "./logger.ts";
import type { ConfigValidator } from "./config.ts";
import { asGrpcError, grpcError, validateConfig } from "./call-errors.ts";
import { toProtoEvent, type SourceEvent } from "./events.ts";
import {
  describeWithCapabilities,
  servePlugin,
  type PluginMetadata,
  type RunningPlugin,
  type ServeOptions,
} from "./plugin-server.ts";

export interface StreamContext<Config> {
  /** The SourcePlugin's name: the CloudEvents `source` of every event. */
  sourceName: string;
  /** Validated against the plugin's schema, defaults applied. */
  config: Config;
  /** The id of the last event the host delivered, when it reconnects; undefined on a first start. */
  resumeAfterId: string | undefined;
  /** Aborted when the host goes away or the plugin shuts down: stop producing. */
  signal: AbortSignal;
  log: Logger;
}

export interface IncomingRequest {
  method: string;
  /** Below /sources/<name>, starting with "/", with any query string. */
  path: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: Buffer;
}

export interface RequestContext<Config> {
  sourceName: string;
  config: Config;
  log: Logger;
}

export interface RequestResult {
  /** Default 202 when events were produced, else 200. */
  status?: number;
  headers?: Record<string, string>;
  /** A string or Buffer is sent as-is; anything else as JSON. */
  body?: unknown;
  events?: SourceEvent[];
}

export interface SourcePlugin<Config = Record<string, unknown>> extends PluginMetadata {
  /**
   * Produces events for as long as the host listens. Return (or end the iterable) to end the stream;
   * throw to end it with an error the host will see. The SDK waits for the host to keep up
   * (backpressure), so a fast producer is paced rather than buffered without bound.
   */
  stream?: (ctx: StreamContext<Config>) => AsyncIterable<SourceEvent>;
  /** Answers HTTP requests forwarded by the ingress (e.g. webhooks). */
  handleRequest?: (request: IncomingRequest, ctx: RequestContext<Config>) => Promise<RequestResult>;
  /** Declare that `stream` honours resumeAfterId. */
  resumable?: boolean;
  /**
   * Let the ingress accept CloudEvents posted to /events with this source's name. `true` accepts
   * every type; a function decides from the config (e.g. an allow-list of types). Default: refuse.
   */
  acceptCloudEvents?: boolean | ((config: Config) => { allowedTypes?: string[] });
}

export function serveSource<Config = Record<string, unknown>>(
  plugin: SourcePlugin<Config>,
  options?: ServeOptions,
): Promise<RunningPlugin> {
  const openStreams = new Set<AbortController>();
  return servePlugin(
    plugin,
    {
      kind: PluginKind.PLUGIN_KIND_SOURCE,
      serviceName: "patchbay.v1.Source",
      definition: SourceService,
      implementation: (shared) => ({
        describe: describeWithCapabilities(shared.describe, {
          externalRequests: plugin.handleRequest !== undefined,
          resumableStream: plugin.resumable ?? false,
        }),
        stream: (call: grpc.ServerWritableStream<StreamRequest, Event>) =>
          void runStream(plugin, call, shared.config, shared.log, openStreams),
        handleExternalRequest: (
          call: grpc.ServerUnaryCall<ExternalRequest, ExternalResponse>,
          callback: grpc.sendUnaryData<ExternalResponse>,
        ) =>
          void handleRequest(plugin, call.request, shared.config, shared.log).then(
            (r) => callback(null, r),
            callback,
          ),
        ingressPolicy: (
          call: grpc.ServerUnaryCall<IngressPolicyRequest, IngressPolicyResponse>,
          callback: grpc.sendUnaryData<IngressPolicyResponse>,
        ) => {
          try {
            callback(null, ingressPolicy(plugin, call.request, shared.config));
          } catch (err) {
            callback(asGrpcError(err));
          }
        },
      }),
      onShutdown: () => {
        for (const stream of openStreams) stream.abort();
      },
    },
    options,
  );
}

async function runStream<Config>(
  plugin: SourcePlugin<Config>,
  call: grpc.ServerWritableStream<StreamRequest, Event>,
  validator: ConfigValidator,
  log: Logger,
  openStreams: Set<AbortController>,
): Promise<void> {
  const abort = new AbortController();
  openStreams.add(abort);
  call.on("cancelled", () => abort.abort());
  const { sourceName, configJson, resumeAfterId } = call.request;
  try {
    if (!plugin.stream) throw grpcError(grpc.status.UNIMPLEMENTED, "this source does not stream events");
    const config = validateConfig(validator, configJson) as Config;
    log.info("stream opened", { source: sourceName, resumeAfterId });
    const events = plugin.stream({
      sourceName,
      config,
      resumeAfterId: resumeAfterId || undefined,
      signal: abort.signal,
      log,
    });
    for await (const event of events) {
      if (abort.signal.aborted) break;
      if (!call.write(toProtoEvent(event))) await drained(call, abort.signal);
    }
    if (!call.cancelled) call.end();
  } catch (err) {
    if (!call.cancelled) {
      log.warn("stream failed", { source: sourceName, error: (err as Error).message });
      // grpc-js turns an "error" on a server stream into the call's status.
      call.emit("error", asGrpcError(err));
    }
  } finally {
    openStreams.delete(abort);
    log.info("stream closed", { source: sourceName });
  }
}

function drained(call: grpc.ServerWritableStream<StreamRequest, Event>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.off("drain", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    call.once("drain", done);
    signal.addEventListener("abort", done, { once: true });
  });
}

async function handleRequest<Config>(
  plugin: SourcePlugin<Config>,
  request: ExternalRequest,
  validator: ConfigValidator,
  log: Logger,
): Promise<ExternalResponse> {
  if (!plugin.handleRequest) {
    throw grpcError(grpc.status.UNIMPLEMENTED, "this source does not accept external requests");
  }
  const config = validateConfig(validator, request.configJson) as Config;
  const result = await plugin.handleRequest(
    { method: request.method, path: request.path, headers: request.headers, body: Buffer.from(request.body) },
    { sourceName: request.sourceName, config, log },
  );
  const events = (result.events ?? []).map(toProtoEvent);
  return {
    status: result.status ?? (events.length > 0 ? 202 : 200),
    headers: result.headers ?? {},
    body: encodeBody(result.body),
    events,
  };
}

function ingressPolicy<Config>(
  plugin: SourcePlugin<Config>,
  request: IngressPolicyRequest,
  validator: ConfigValidator,
): IngressPolicyResponse {
  const accept = plugin.acceptCloudEvents;
  if (!accept) return { acceptCloudevents: false, allowedTypes: [] };
  if (accept === true) return { acceptCloudevents: true, allowedTypes: [] };
  const config = validateConfig(validator, request.configJson) as Config;
  return { acceptCloudevents: true, allowedTypes: accept(config).allowedTypes ?? [] };
}

function encodeBody(body: unknown): Buffer {
  if (body === undefined) return Buffer.alloc(0);
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === "string") return Buffer.from(body);
  return Buffer.from(JSON.stringify(body));
}
