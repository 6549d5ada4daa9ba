/** The management port: liveness, readiness and Prometheus metrics. */
export { startManagementServer, runReadinessChecks } from "./server.ts";
export type {
  ManagementServerOptions,
  ReadinessCheck,
  ReadinessFailure,
  RunningManagementServer,
} from "./server.ts";
