/**
 * What every plugin process does whatever its kind: listen where it is told, announce the bound
 * address, serve health, answer Describe, and shut down gracefully on SIGTERM/SIGINT.
 */
import * as grpc from "@grpc/grpc-js";
import { createLogger, type Logger } from "./logger.ts";
import {
  HealthCheckResponse_ServingStatus as ServingStatus,
  HealthService,
  PROTOCOL_VERSION,
  type DescribeResponse,
  type PluginKind,
} from "./protocol/index.ts";
import { compileConfigSchema, type ConfigValidator, type JsonSchema } from "./config.ts";
import { HealthState } from "./health.ts";

/** What a plugin says about itself; answered from Describe. */
export interface PluginMetadata {
  name: string;
  version: string;
  description?: string;
  /** JSON Schema of the plugin's config; the SDK rejects configs it does not accept. */
  configSchema?: JsonSchema;
}

export interface ServeOptions {
  /** host:port to listen on. Default: --address flag, else PATCHBAY_PLUGIN_ADDRESS, else 127.0.0.1:0. */
  address?: string;
  /** How long in-flight calls may take to finish after SIGTERM. Default 10 s. */
  shutdownGraceMs?: number;
  /**
   * Serve inside a larger program (tests, embedding) rather than as the plugin process: no handshake
   * line, no signal handlers, no exit. Default false.
   */
  inProcess?: boolean;
}

export interface RunningPlugin {
  /** The address actually bound, e.g. 127.0.0.1:41235. */
  readonly address: string;
  readonly port: number;
  readonly log: Logger;
  /** Stop serving: streams end, in-flight calls get the grace period, then the server stops. */
  close(): Promise<void>;
}

/** The line a plugin prints on stdout once it listens; the process runtime reads it (go-plugin style). */
export const HANDSHAKE_PREFIX = "PATCHBAY_PLUGIN";

export function handshakeLine(address: string): string {
  return `${HANDSHAKE_PREFIX}|${PROTOCOL_VERSION.major}|tcp|${address}|grpc`;
}

export interface KindBinding {
  kind: PluginKind;
  serviceName: string;
  definition: grpc.ServiceDefinition;
  /** Builds the kind's handlers once Describe and config validation are known. */
  implementation(shared: SharedHandlers): grpc.UntypedServiceImplementation;
  /** Called on shutdown before the server stops accepting, e.g. to end open streams. */
  onShutdown(): void;
}

export interface SharedHandlers {
  describe: grpc.handleUnaryCall<unknown, DescribeResponse>;
  config: ConfigValidator;
  log: Logger;
}

export async function servePlugin(
  metadata: PluginMetadata,
  binding: KindBinding,
  options: ServeOptions = {},
): Promise<RunningPlugin> {
  const log = createLogger(`plugin/${metadata.name}`);
  const config = compileConfigSchema(metadata.configSchema);
  const describeResponse: DescribeResponse = {
    protocolVersion: { ...PROTOCOL_VERSION },
    kind: binding.kind,
    name: metadata.name,
    version: metadata.version,
    description: metadata.description ?? "",
    configSchemaJson: metadata.configSchema === undefined ? "" : JSON.stringify(metadata.configSchema),
    capabilities: undefined,
  };
  const health = new HealthState([binding.serviceName]);
  const server = new grpc.Server({
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.http2.min_ping_interval_without_data_ms": 5_000,
  });
  server.addService(HealthService, health.server as unknown as grpc.UntypedServiceImplementation);
  server.addService(
    binding.definition,
    binding.implementation({
      describe: (_call, callback) => callback(null, describeResponse),
      config,
      log,
    }),
  );

  const requested = options.address ?? addressFromEnvironment();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(requested, grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
  const address = `${hostOf(requested)}:${port}`;
  log.info("plugin listening", { address, plugin: metadata.name, version: metadata.version });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= shutdown(server, health, binding, options.shutdownGraceMs ?? 10_000, log);
    return closing;
  };
  if (!options.inProcess) {
    process.stdout.write(`${handshakeLine(address)}\n`);
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      process.once(signal, () => {
        log.info("shutting down", { signal });
        void close().then(() => process.exit(0));
      });
    }
    exitWithParentIfAsked(close);
  }
  return { address, port, log, close };
}

/** Sets the describe capabilities after the fact (only the source kind has any). */
export function describeWithCapabilities(
  describe: grpc.handleUnaryCall<unknown, DescribeResponse>,
  capabilities: DescribeResponse["capabilities"],
): grpc.handleUnaryCall<unknown, DescribeResponse> {
  return (call, callback) =>
    describe(call, (err, value) => callback(err, value && { ...value, capabilities }));
}

async function shutdown(
  server: grpc.Server,
  health: HealthState,
  binding: KindBinding,
  graceMs: number,
  log: Logger,
): Promise<void> {
  health.setAll(ServingStatus.NOT_SERVING);
  health.endWatches();
  binding.onShutdown();
  const graceful = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  const deadline = new Promise<"timeout">((resolve) => setTimeout(resolve, graceMs, "timeout").unref());
  if ((await Promise.race([graceful, deadline])) === "timeout") {
    log.warn("in-flight calls did not finish within the grace period; stopping anyway", { graceMs });
    server.forceShutdown();
  }
  log.info("plugin stopped");
}

function addressFromEnvironment(): string {
  const flag = process.argv.findIndex((arg) => arg === "--address" || arg.startsWith("--address="));
  if (flag >= 0) {
    const arg = process.argv[flag]!;
    const value = arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : process.argv[flag + 1];
    if (value) return value;
  }
  return process.env.PATCHBAY_PLUGIN_ADDRESS ?? "127.0.0.1:0";
}

function hostOf(address: string): string {
  const colon = address.lastIndexOf(":");
  const host = colon >= 0 ? address.slice(0, colon) : address;
  return host === "" || host === "0.0.0.0" || host === "[::]" ? "127.0.0.1" : host;
}

/** Under `patchbay local` the plugin's stdin is a pipe from the host: when it closes, the host is gone. */
function exitWithParentIfAsked(close: () => Promise<void>): void {
  if (process.env.PATCHBAY_PLUGIN_EXIT_WITH_PARENT !== "1") return;
  process.stdin.on("end", () => void close().then(() => process.exit(0)));
  process.stdin.on("error", () => void close().then(() => process.exit(0)));
  process.stdin.resume();
}
