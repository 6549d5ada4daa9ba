/**
 * The plugin hub: one connection per plugin, applied from a desired set, with the calls the rest of
 * Patchbay makes (Execute, Help, HandleExternalRequest) and each plugin's state for whoever asks.
 */
import { EventEmitter } from "node:events";
import type { Logger } from "../observability/logger.ts";
import type { ExecutorClient, SourceClient } from "@patchbay/sdk/protocol";
import {
  ExecuteErrorCode,
  type ExecuteContext,
  type ExecuteResponse,
  type ExternalResponse,
} from "@patchbay/sdk/protocol";
import type { CloudEvent } from "../events/cloudevent.ts";
import { callUnary, PluginCallError } from "./calls.ts";
import {
  DEFAULT_TIMINGS,
  PluginConnection,
  type ConnectionTimings,
  type PluginTarget,
} from "./connection.ts";
import { toCloudEvent } from "./events.ts";
import type { PluginKindName, PluginState } from "./state.ts";

export interface HubOptions {
  log: Logger;
  /**
   * Every event from every source stream, in order per source. A promise (an event bus storing it)
   * pauses that source's stream until it resolves; a rejection is retried, the stream still paused.
   */
  onEvent: (event: CloudEvent) => unknown;
  /**
   * The id of the last event stored for a source, asked before each of its streams opens; the stream
   * resumes after it (so a new or restarted leader continues without loss or repeat). Undefined: the
   * hub hands the last id over from one connection to the next itself, as without a bus.
   */
  resumeHint?: (source: string) => Promise<string | undefined> | undefined;
  timings?: Partial<ConnectionTimings>;
  /**
   * Whether sources' event streams are consumed (default true). Off, a source is still described,
   * config-checked, health-watched and answers HandleExternalRequest and IngressPolicy; its events
   * are simply not asked for. Replicas that do not lead keep it off so no event is consumed twice.
   */
  streams?: boolean;
}

export interface CommandRequest {
  command: string;
  args: string[];
  prefix: string;
  context: Omit<ExecuteContext, "executorName">;
}

export type ExecuteOutcome = "ok" | "forbidden" | "invalid-argument" | "failed" | "timeout";

export interface CommandAnswer {
  output: string;
  message?: unknown;
  errorCode: ExecuteOutcome;
  errorMessage: string;
}

export interface ExternalRequestInput {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

export interface ExternalRequestAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  events: CloudEvent[];
}

const outcomes: Record<number, ExecuteOutcome> = {
  [ExecuteErrorCode.EXECUTE_ERROR_CODE_OK]: "ok",
  [ExecuteErrorCode.EXECUTE_ERROR_CODE_FORBIDDEN]: "forbidden",
  [ExecuteErrorCode.EXECUTE_ERROR_CODE_INVALID_ARGUMENT]: "invalid-argument",
  [ExecuteErrorCode.EXECUTE_ERROR_CODE_FAILED]: "failed",
  [ExecuteErrorCode.EXECUTE_ERROR_CODE_TIMEOUT]: "timeout",
};

/** Emits "state" (PluginState) on every phase change of any plugin. */
export class PluginHub extends EventEmitter<{ state: [PluginState] }> {
  readonly #connections = new Map<string, PluginConnection>();
  readonly #options: HubOptions;
  readonly #timings: ConnectionTimings;
  #streaming: boolean;

  constructor(options: HubOptions) {
    super();
    this.#options = options;
    this.#timings = { ...DEFAULT_TIMINGS, ...options.timings };
    this.#streaming = options.streams ?? true;
  }

  /** Whether sources' event streams are being consumed. */
  get streaming(): boolean {
    return this.#streaming;
  }

  /**
   * Starts consuming every source's event stream (each resuming after the last event id this hub
   * delivered from it) or cancels them all. Connections stay up and their phase does not change.
   */
  setStreaming(enabled: boolean): void {
    if (this.#streaming === enabled) return;
    this.#streaming = enabled;
    this.#options.log.info(enabled ? "consuming source streams" : "no longer consuming source streams");
    for (const connection of this.#connections.values()) connection.setStreaming(enabled);
  }

  /** Adds a plugin or changes one; an unchanged target is left connected. */
  upsert(target: PluginTarget): void {
    const key = keyOf(target.kind, target.name);
    const existing = this.#connections.get(key);
    if (existing && sameTarget(existing, target)) return;
    existing?.close();
    const connection = new PluginConnection(
      target,
      {
        onState: (state) => this.emit("state", state),
        onEvent: this.#options.onEvent,
        resumeHint: this.#options.resumeHint,
      },
      this.#options.log,
      this.#timings,
      { lastDeliveredId: existing?.lastDeliveredId, streaming: this.#streaming },
    );
    this.#connections.set(key, connection);
    this.emit("state", connection.state);
  }

  remove(kind: PluginKindName, name: string): void {
    const key = keyOf(kind, name);
    this.#connections.get(key)?.close();
    this.#connections.delete(key);
  }

  state(kind: PluginKindName, name: string): PluginState | undefined {
    return this.#connections.get(keyOf(kind, name))?.state;
  }

  states(): PluginState[] {
    return [...this.#connections.values()].map((connection) => connection.state);
  }

  async execute(
    name: string,
    request: CommandRequest,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<CommandAnswer> {
    const connection = this.#require("executor", name);
    const client = connection.readyClient() as ExecutorClient;
    const response: ExecuteResponse = await callUnary(
      client,
      client.execute,
      { ...request, configJson: connection.configJson, context: { ...request.context, executorName: name } },
      timeoutMs,
      signal,
    );
    return {
      output: response.output,
      message: response.messageJson ? parseMessage(response.messageJson) : undefined,
      errorCode: outcomes[response.errorCode] ?? "failed",
      errorMessage: response.errorMessage,
    };
  }

  async help(name: string, timeoutMs: number): Promise<string> {
    const connection = this.#require("executor", name);
    const client = connection.readyClient() as ExecutorClient;
    const response = await callUnary(client, client.help, { configJson: connection.configJson }, timeoutMs);
    return response.text;
  }

  async handleExternalRequest(
    name: string,
    request: ExternalRequestInput,
    timeoutMs: number,
  ): Promise<ExternalRequestAnswer> {
    const connection = this.#require("source", name);
    if (connection.state.plugin && !connection.state.plugin.acceptsExternalRequests) {
      throw new PluginCallError("unsupported", `source '${name}' does not accept external requests`);
    }
    const client = connection.readyClient() as SourceClient;
    const response: ExternalResponse = await callUnary(
      client,
      client.handleExternalRequest,
      { ...request, sourceName: name, configJson: connection.configJson },
      timeoutMs,
    );
    return {
      status: response.status || 202,
      headers: response.headers,
      body: Buffer.from(response.body),
      events: response.events.map((event) => toCloudEvent(name, event)),
    };
  }

  close(): void {
    for (const connection of this.#connections.values()) connection.close();
    this.#connections.clear();
  }

  #require(kind: PluginKindName, name: string): PluginConnection {
    const connection = this.#connections.get(keyOf(kind, name));
    if (!connection) throw new PluginCallError("unavailable", `no ${kind} plugin named '${name}'`);
    return connection;
  }
}

function keyOf(kind: PluginKindName, name: string): string {
  return `${kind}/${name}`;
}

function sameTarget(connection: PluginConnection, target: PluginTarget): boolean {
  const current = connection.target;
  // The operator hands over the very same object while nothing about the plugin changed.
  if (current === target) return true;
  return (
    current.address === target.address &&
    current.credentials === target.credentials &&
    connection.configJson === JSON.stringify(target.config ?? {}) &&
    (target.address !== undefined || current.pending?.reason === target.pending?.reason)
  );
}

function parseMessage(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return undefined;
  }
}
