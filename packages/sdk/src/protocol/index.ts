/**
 * The plugin protocol as TypeScript (`@patchbay/sdk/protocol`): generated messages and services, plus
 * the version this build speaks. The SDK, Patchbay's host and plugin tests that call a plugin as the host
 * would import from here, never from ./generated directly. There is one generated copy, in this package.
 */
export {
  Capabilities,
  DescribeRequest,
  DescribeResponse,
  PluginKind,
  ProtocolVersion,
} from "./generated/patchbay/v1/plugin.ts";
export {
  Event,
  ExternalRequest,
  ExternalResponse,
  IngressPolicyRequest,
  IngressPolicyResponse,
  Severity,
  SourceClient,
  SourceService,
  StreamRequest,
  type SourceServer,
} from "./generated/patchbay/v1/source.ts";
export {
  ExecuteContext,
  ExecuteErrorCode,
  ExecuteRequest,
  ExecuteResponse,
  ExecutorClient,
  ExecutorService,
  HelpRequest,
  HelpResponse,
  KubernetesImpersonation,
  type ExecutorServer,
} from "./generated/patchbay/v1/executor.ts";
export {
  HealthCheckRequest,
  HealthCheckResponse,
  HealthCheckResponse_ServingStatus,
  HealthClient,
  HealthService,
  type HealthServer,
} from "./generated/grpc/health/v1/health.ts";

/** The protocol version this build speaks; a plugin with another major version is refused. */
export const PROTOCOL_VERSION = { major: 1, minor: 0 } as const;

/** Why a plugin's declared protocol version cannot be used, or undefined when it can. */
export function protocolIncompatibility(
  declared: { major: number; minor: number } | undefined,
): string | undefined {
  if (!declared) return "plugin did not declare a protocol version in Describe";
  if (declared.major !== PROTOCOL_VERSION.major) {
    return `plugin speaks protocol v${declared.major}.${declared.minor}, this host speaks v${PROTOCOL_VERSION.major}.${PROTOCOL_VERSION.minor} (major versions must match)`;
  }
  return undefined;
}
