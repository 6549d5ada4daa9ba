/** The standard grpc.health.v1 service, with Watch, for every plugin. */
import type * as grpc from "@grpc/grpc-js";
import {
  HealthCheckResponse_ServingStatus as ServingStatus,
  type HealthCheckRequest,
  type HealthCheckResponse,
  type HealthServer,
} from "./protocol/index.ts";

type Status = HealthCheckResponse["status"];

export class HealthState {
  readonly #status = new Map<string, Status>();
  readonly #watchers = new Set<{
    service: string;
    call: grpc.ServerWritableStream<HealthCheckRequest, HealthCheckResponse>;
  }>();

  constructor(services: string[]) {
    for (const service of ["", ...services]) this.#status.set(service, ServingStatus.SERVING);
  }

  setAll(status: Status): void {
    for (const service of this.#status.keys()) this.#status.set(service, status);
    for (const watcher of this.#watchers) watcher.call.write({ status });
  }

  /** Ends Watch streams so that shutdown is not held up by them. */
  endWatches(): void {
    for (const watcher of this.#watchers) watcher.call.end();
    this.#watchers.clear();
  }

  readonly server: HealthServer = {
    check: (call, callback) => {
      const status = this.#status.get(call.request.service);
      if (status === undefined) {
        callback({ code: 5 /* NOT_FOUND */, details: `unknown service '${call.request.service}'` });
        return;
      }
      callback(null, { status });
    },
    watch: (call) => {
      const service = call.request.service;
      const watcher = { service, call };
      this.#watchers.add(watcher);
      call.write({ status: this.#status.get(service) ?? ServingStatus.SERVICE_UNKNOWN });
      call.on("cancelled", () => this.#watchers.delete(watcher));
    },
  };
}
