/**
 * One plugin, seen from the host: dial, Describe, check the protocol version, the kind and the config,
 * watch health, and for sources keep the event stream open while streaming is on — reconnecting with
 * backoff and jitter whenever any of it fails. Every change of phase is reported with a reason.
 */
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "../observability/logger.ts";
import {
  ExecutorClient,
  HealthCheckResponse_ServingStatus as ServingStatus,
  HealthClient,
  PluginKind,
  SourceClient,
  protocolIncompatibility,
  type DescribeResponse,
  type Event,
  type HealthCheckResponse,
} from "@patchbay/sdk/protocol";
import { compileConfigSchema, ConfigError } from "@patchbay/sdk";
import type { CloudEvent } from "../events/cloudevent.ts";
import { Backoff } from "../retry/backoff.ts";
import { callUnary, PluginCallError, toCallError } from "./calls.ts";
import { toCloudEvent } from "./events.ts";
import type { IngressPolicy, PluginDescription, PluginKindName, PluginPhase, PluginState } from "./state.ts";

export interface PluginTarget {
  kind: PluginKindName;
  name: string;
  /** host:port; undefined while the plugin is not reachable yet (e.g. its process is starting). */
  address: string | undefined;
  config: unknown;
  credentials?: grpc.ChannelCredentials;
  /** When address is undefined: why, for the state's reason and message. */
  pending?: { reason: string; message: string };
}

export interface ConnectionHooks {
  onState(state: PluginState): void;
  /** A promise pauses the stream until the event is stored; see HubOptions.onEvent. */
  onEvent(event: CloudEvent): unknown;
  /** See HubOptions.resumeHint. */
  resumeHint?(source: string): Promise<string | undefined> | undefined;
}

/** While the event bus cannot store a source's event, the stream stays paused and it is offered again this often. */
const STORE_RETRY_MS = { initial: 250, max: 5_000 };

export interface ConnectionTimings {
  describeTimeoutMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** A connection must stay ready this long before the backoff is reset (stops crash loops spinning). */
  stableAfterMs: number;
  /** Keepalive ping interval; dead peers are noticed within about twice this. */
  keepaliveMs: number;
}

export interface ConnectionOptions {
  /** Resume the source stream after this event id (handed over from a predecessor connection). */
  lastDeliveredId?: string;
  /** Whether a source opens its event stream (default true); see setStreaming. */
  streaming?: boolean;
}

export const DEFAULT_TIMINGS: ConnectionTimings = {
  describeTimeoutMs: 5_000,
  backoffInitialMs: 200,
  backoffMaxMs: 30_000,
  stableAfterMs: 10_000,
  keepaliveMs: 15_000,
};

const expectedKind = { source: PluginKind.PLUGIN_KIND_SOURCE, executor: PluginKind.PLUGIN_KIND_EXECUTOR };

export class PluginConnection {
  readonly #target: PluginTarget;
  readonly #hooks: ConnectionHooks;
  readonly #log: Logger;
  readonly #timings: ConnectionTimings;
  readonly #backoff: Backoff;
  readonly #configJson: string;
  #client: SourceClient | ExecutorClient | undefined;
  #health: HealthClient | undefined;
  #state: PluginState;
  /** Bumped on every (re)connect and on close, so callbacks of an older attempt are ignored. */
  #session = 0;
  #calls: grpc.ClientReadableStream<unknown>[] = [];
  /** The open source stream, if any; compared by identity so a cancelled stream's callbacks are ignored. */
  #stream: grpc.ClientReadableStream<Event> | undefined;
  /** The session in which the plugin answered Stream with UNIMPLEMENTED: not asked again until it reconnects. */
  #streamlessSession: number | undefined;
  /** The session whose Describe, config check and health watch succeeded: a stream may be opened in it. */
  #readySession: number | undefined;
  #streaming: boolean;
  #timers = new Set<NodeJS.Timeout>();
  #lastDeliveredId: string;
  /** Asking the resume hint for a stream about to open (so it is not asked twice). */
  #askingHint = false;
  #closed = false;

  constructor(
    target: PluginTarget,
    hooks: ConnectionHooks,
    log: Logger,
    timings: ConnectionTimings,
    options: ConnectionOptions = {},
  ) {
    this.#target = target;
    this.#hooks = hooks;
    this.#log = log.child({ plugin: target.name, kind: target.kind });
    this.#timings = timings;
    this.#backoff = new Backoff({ initialMs: timings.backoffInitialMs, maxMs: timings.backoffMaxMs });
    this.#configJson = JSON.stringify(target.config ?? {});
    this.#lastDeliveredId = options.lastDeliveredId ?? "";
    this.#streaming = options.streaming ?? true;
    const pending = target.pending ?? { reason: "Starting", message: "waiting for the plugin's address" };
    this.#state = {
      kind: target.kind,
      name: target.name,
      address: target.address ?? "",
      phase: target.address ? "Connecting" : "Unavailable",
      reason: target.address ? "Connecting" : pending.reason,
      message: target.address ? `connecting to ${target.address}` : pending.message,
      since: new Date(),
    };
    if (target.address) this.#dial(target.address);
  }

  get state(): PluginState {
    return this.#state;
  }

  get target(): PluginTarget {
    return this.#target;
  }

  /** The id of the last event delivered from this source, handed to a successor connection. */
  get lastDeliveredId(): string {
    return this.#lastDeliveredId;
  }

  get configJson(): string {
    return this.#configJson;
  }

  /** The client for kind-specific calls, only while ready. */
  readyClient(): SourceClient | ExecutorClient {
    if (this.#state.phase !== "Ready" || !this.#client) {
      throw new PluginCallError(
        "unavailable",
        `${this.#target.kind} '${this.#target.name}' is not ready: ${this.#state.message}`,
      );
    }
    return this.#client;
  }

  get streaming(): boolean {
    return this.#streaming;
  }

  /**
   * Opens (resuming after the last delivered id) or cancels a source's event stream. Only the stream
   * is affected: Describe, the config check, health and the other calls carry on, and the phase does
   * not change. No-op for executors.
   */
  setStreaming(enabled: boolean): void {
    if (this.#streaming === enabled) return;
    this.#streaming = enabled;
    if (enabled) this.#ensureStream(this.#session);
    else this.#cancelStream();
  }

  close(): void {
    this.#closed = true;
    this.#session++;
    this.#cancelCalls();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#client?.close();
    this.#health?.close();
  }

  #dial(address: string): void {
    const options: grpc.ChannelOptions = {
      "grpc.keepalive_time_ms": this.#timings.keepaliveMs,
      "grpc.keepalive_timeout_ms": 5_000,
      "grpc.keepalive_permit_without_calls": 1,
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.max_reconnect_backoff_ms": 2_000,
      "grpc.max_receive_message_length": 16 * 1024 * 1024,
    };
    const credentials = this.#target.credentials ?? grpc.credentials.createInsecure();
    this.#client =
      this.#target.kind === "source"
        ? new SourceClient(address, credentials, options)
        : new ExecutorClient(address, credentials, options);
    // Share the kind client's channel so health and calls see one connection.
    this.#health = new HealthClient(address, credentials, {
      ...options,
      channelOverride: this.#client.getChannel(),
    });
    void this.#connect(++this.#session);
  }

  async #connect(session: number): Promise<void> {
    const client = this.#client!;
    // No "Connecting" here: a first attempt starts in that phase, and a retry keeps reporting why the last
    // attempt failed. Flipping to Connecting and back on every retry tells statuses and logs nothing new,
    // and costs a status write and a log line per attempt for every plugin that is down.
    try {
      const described = await callUnary(client, client.describe, {}, this.#timings.describeTimeoutMs);
      if (session !== this.#session) return;
      const refusal = this.#refusal(described);
      if (refusal) {
        this.#refuse(session, refusal.phase, refusal.reason, refusal.message);
        return;
      }
      const description = describe(described);
      this.#state = { ...this.#state, plugin: description };
      if (client instanceof SourceClient) {
        const ingress = await this.#ingressPolicy(client);
        if (session !== this.#session) return;
        this.#state = { ...this.#state, ingress };
      }
      await this.#watchHealth(session);
      if (session !== this.#session) return;
      this.#readySession = session;
      this.#ensureStream(session);
      this.#setState(
        "Ready",
        "Ready",
        `${description.name} ${description.version} at ${this.#target.address}`,
      );
      this.#later(this.#timings.stableAfterMs, () => {
        if (session === this.#session) this.#backoff.reset();
      });
    } catch (err) {
      const failure = err instanceof PluginCallError ? err : new PluginCallError("failed", String(err));
      if (failure.code === "unsupported") {
        // Describe is served per kind: a plugin that lacks ours is a plugin of another kind.
        const service = this.#target.kind === "source" ? "patchbay.v1.Source" : "patchbay.v1.Executor";
        const message = `the plugin at ${this.#target.address} does not serve ${service}: is it a ${this.#target.kind} plugin?`;
        this.#refuse(session, "Incompatible", "WrongKind", message);
        return;
      }
      this.#lost(
        session,
        failure.code === "timeout" ? "DescribeTimeout" : "ConnectionFailed",
        failure.message,
      );
    }
  }

  /** Why this plugin cannot be used with this config, or undefined when it can. */
  #refusal(described: DescribeResponse): { phase: PluginPhase; reason: string; message: string } | undefined {
    const incompatible = protocolIncompatibility(described.protocolVersion);
    if (incompatible) return { phase: "Incompatible", reason: "IncompatibleProtocol", message: incompatible };
    if (described.kind !== expectedKind[this.#target.kind]) {
      return {
        phase: "Incompatible",
        reason: "WrongKind",
        message: `the plugin at ${this.#target.address} is not a ${this.#target.kind} plugin (it describes itself as kind ${described.kind})`,
      };
    }
    try {
      const schema = described.configSchemaJson === "" ? undefined : JSON.parse(described.configSchemaJson);
      compileConfigSchema(schema).validate(this.#target.config ?? {});
    } catch (err) {
      const message =
        err instanceof ConfigError
          ? err.message
          : `the plugin's config schema is not valid JSON: ${(err as Error).message}`;
      return { phase: "ConfigInvalid", reason: "ConfigInvalid", message };
    }
    return undefined;
  }

  async #ingressPolicy(client: SourceClient): Promise<IngressPolicy> {
    try {
      const policy = await callUnary(
        client,
        client.ingressPolicy,
        { sourceName: this.#target.name, configJson: this.#configJson },
        this.#timings.describeTimeoutMs,
      );
      return { acceptCloudEvents: policy.acceptCloudevents, allowedTypes: policy.allowedTypes };
    } catch (err) {
      // Plugins written before IngressPolicy existed simply do not accept CloudEvents.
      if (err instanceof PluginCallError && err.code === "unsupported")
        return { acceptCloudEvents: false, allowedTypes: [] };
      throw err;
    }
  }

  /** Resolves once the plugin says SERVING; afterwards keeps following its health. */
  #watchHealth(session: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const watch = this.#health!.watch({ service: "" });
      this.#calls.push(watch);
      let serving = false;
      watch.on("data", (response: HealthCheckResponse) => {
        if (session !== this.#session) return;
        if (response.status === ServingStatus.SERVING) {
          if (!serving) resolve();
          else if (this.#state.phase === "Unavailable") {
            this.#setState("Ready", "Ready", "serving again");
            this.#ensureStream(session);
          }
          serving = true;
        } else if (serving) {
          this.#setState(
            "Unavailable",
            "NotServing",
            "the plugin reports NOT_SERVING (it may be shutting down)",
          );
        }
      });
      watch.on("error", (err: grpc.ServiceError) => {
        if (session !== this.#session || err.code === grpc.status.CANCELLED) return;
        if (!serving && err.code === grpc.status.UNIMPLEMENTED) {
          // Many health implementations serve only Check: ask once; keepalive and the calls
          // themselves notice a plugin that goes away afterwards.
          this.#checkHealth().then(resolve, reject);
          return;
        }
        const failure = toCallError(err);
        if (!serving) reject(failure);
        else this.#lost(session, "ConnectionLost", failure.message);
      });
      watch.on("end", () => {
        if (session === this.#session && serving)
          this.#lost(session, "ConnectionLost", "the plugin ended its health stream");
      });
    });
  }

  async #checkHealth(): Promise<void> {
    const health = this.#health!;
    const answer = await callUnary(health, health.check, { service: "" }, this.#timings.describeTimeoutMs);
    if (answer.status !== ServingStatus.SERVING) {
      throw new PluginCallError(
        "unavailable",
        `the plugin's health check answers ${answer.status}, not SERVING`,
      );
    }
  }

  /** Opens the source stream when streaming is on, this session is ready and none is open. */
  #ensureStream(session: number): void {
    const client = this.#client;
    if (!this.#streaming || this.#stream || this.#closed) return;
    if (session !== this.#session || this.#readySession !== session) return;
    if (this.#streamlessSession === session || this.#askingHint) return;
    if (!(client instanceof SourceClient)) return;
    const hint = this.#hooks.resumeHint?.(this.#target.name);
    if (hint === undefined) {
      this.#openStream(session, client);
      return;
    }
    this.#askingHint = true;
    hint.then(
      (lastStored) => {
        this.#askingHint = false;
        if (lastStored !== undefined) this.#lastDeliveredId = lastStored;
        if (session !== this.#session || client !== this.#client || this.#stream || this.#closed) return;
        if (this.#streaming) this.#openStream(session, client);
      },
      (error: unknown) => {
        this.#askingHint = false;
        // Without the last stored id the stream could repeat or skip events: wait for the bus.
        this.#log.warn("cannot read where the source stream resumes; retrying", {
          error: (error as Error).message,
        });
        this.#later(this.#backoff.next(), () => this.#ensureStream(session));
      },
    );
  }

  #openStream(session: number, client: SourceClient): void {
    const stream = client.stream({
      sourceName: this.#target.name,
      configJson: this.#configJson,
      resumeAfterId: this.#lastDeliveredId,
    });
    this.#stream = stream;
    const current = () => session === this.#session && stream === this.#stream;
    stream.on("data", (event: Event) => {
      if (!current()) return;
      const cloudEvent = toCloudEvent(this.#target.name, event);
      const stored = this.#hooks.onEvent(cloudEvent);
      if (!(stored instanceof Promise)) {
        this.#lastDeliveredId = event.id;
        return;
      }
      // Backpressure: nothing more is read from the plugin until this event is stored.
      stream.pause();
      void this.#store(stored, cloudEvent, current).then((done) => {
        if (!done) return;
        this.#lastDeliveredId = event.id;
        stream.resume();
      });
    });
    stream.on("error", (err: grpc.ServiceError) => {
      if (!current() || err.code === grpc.status.CANCELLED) return;
      // A source without a stream (e.g. one that only receives webhooks) is fine as it is: stop asking.
      if (err.code === grpc.status.UNIMPLEMENTED) {
        this.#streamlessSession = session;
        return;
      }
      this.#lost(session, "StreamFailed", toCallError(err).message);
    });
    stream.on("end", () => {
      if (!current()) return;
      this.#stream = undefined;
      // The plugin ended the stream cleanly; ask again after a pause rather than spin.
      this.#later(this.#backoff.next(), () => this.#ensureStream(session));
    });
  }

  /**
   * Waits until the event is stored, offering it again while the bus cannot store it. False when the
   * stream was replaced or the connection closed meanwhile: the next stream resumes from the bus.
   */
  async #store(first: Promise<unknown>, event: CloudEvent, current: () => boolean): Promise<boolean> {
    let attempt: unknown = first;
    let delay = STORE_RETRY_MS.initial;
    for (let tries = 1; ; tries++) {
      try {
        await attempt;
        return true;
      } catch (error) {
        if (!current() || this.#closed) return false;
        if (tries === 1 || tries % 20 === 0)
          this.#log.warn("the event bus cannot store the source's event; its stream is paused", {
            eventId: event.id,
            error: (error as Error).message,
          });
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, STORE_RETRY_MS.max);
      if (!current() || this.#closed) return false;
      attempt = this.#hooks.onEvent(event);
    }
  }

  #cancelStream(): void {
    const stream = this.#stream;
    this.#stream = undefined;
    stream?.cancel();
  }

  /** Something failed: report it, drop this attempt's calls, and try again after a backoff. */
  #lost(session: number, reason: string, message: string): void {
    if (session !== this.#session || this.#closed) return;
    const next = ++this.#session;
    this.#cancelCalls();
    const delay = this.#backoff.next();
    this.#setState("Unavailable", reason, `${message} (retry ${this.#backoff.attempts} in ${delay} ms)`);
    this.#later(delay, () => {
      if (next === this.#session) void this.#connect(next);
    });
  }

  /** The plugin cannot be used as configured: report it and retry only slowly (it may be upgraded). */
  #refuse(session: number, phase: PluginPhase, reason: string, message: string): void {
    if (session !== this.#session) return;
    const next = ++this.#session;
    this.#setState(phase, reason, message);
    this.#later(this.#timings.backoffMaxMs, () => {
      if (next === this.#session) void this.#connect(next);
    });
  }

  #cancelCalls(): void {
    this.#cancelStream();
    for (const call of this.#calls) call.cancel();
    this.#calls = [];
  }

  #later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#closed) run();
    }, ms);
    timer.unref();
    this.#timers.add(timer);
  }

  #setState(phase: PluginPhase, reason: string, message: string): void {
    const changed = phase !== this.#state.phase || reason !== this.#state.reason;
    this.#state = { ...this.#state, phase, reason, message, since: changed ? new Date() : this.#state.since };
    if (!changed) return;
    this.#log.log(phase === "Ready" ? "info" : "warn", "plugin state", { phase, reason, detail: message });
    this.#hooks.onState(this.#state);
  }
}

function describe(described: DescribeResponse): PluginDescription {
  return {
    name: described.name,
    version: described.version,
    description: described.description,
    configSchema: described.configSchemaJson === "" ? undefined : JSON.parse(described.configSchemaJson),
    acceptsExternalRequests: described.capabilities?.externalRequests ?? false,
    resumableStream: described.capabilities?.resumableStream ?? false,
  };
}
