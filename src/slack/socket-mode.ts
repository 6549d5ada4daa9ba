/**
 * Slack Socket Mode (https://api.slack.com/apis/socket-mode): Patchbay opens the connection to Slack, so
 * buttons and mentions work from a cluster the internet cannot reach. With the app-level token
 * (xapp-…), apps.connections.open gives a one-time WebSocket URL; Slack says `hello`, then sends
 * envelopes, each of which must be acknowledged within 3 s (`{"envelope_id": …}`) — it is acknowledged
 * the moment it arrives, before anything runs. A `disconnect` message announces that Slack will close
 * this connection: a new one is opened first and the old one dropped once the new one said hello. A
 * connection that drops, or an apps.connections.open that fails, is retried with backoff. Slack re-sends
 * an envelope it did not see acknowledged (retry_attempt > 0, the same envelope_id), so recent ids are
 * kept and a re-sent envelope is acknowledged again but handled once.
 */
import type { Logger } from "../observability/logger.ts";
import { Backoff, type BackoffOptions } from "../retry/backoff.ts";
import { RecentIds } from "./recent-ids.ts";
import type { SlackWebApi } from "./web-api.ts";

export interface SocketModeEnvelope {
  envelope_id: string;
  /** "events_api", "interactive", "slash_commands", … */
  type: string;
  payload: unknown;
  accepts_response_payload?: boolean;
  retry_attempt?: number;
  retry_reason?: string;
}

export interface SocketModeOptions {
  /** The Web API authenticated with the app-level token (xapp-…): only apps.connections.open is called. */
  api: Pick<SlackWebApi, "call">;
  /** Called once per envelope, after it was acknowledged; what it starts runs on its own. */
  onEnvelope(envelope: SocketModeEnvelope): void;
  log: Logger;
  /** Waits between attempts to connect. Default 1 s doubling to 60 s. */
  backoff?: BackoffOptions;
  /** How long a new connection may take to say hello. Default 10 s. */
  helloTimeoutMs?: number;
}

const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1_000, maxMs: 60_000 };
/** Deadline of one apps.connections.open call. */
const OPEN_TIMEOUT_MS = 10_000;
/** How long close() waits for Slack to confirm each socket's closing handshake. */
const CLOSE_GRACE_MS = 1_000;

export class SlackSocketMode {
  readonly #options: SocketModeOptions;
  readonly #log: Logger;
  readonly #backoff: Backoff;
  readonly #recent = new RecentIds();
  /** Aborts a pending apps.connections.open when closing. */
  readonly #abort = new AbortController();
  readonly #sockets = new Set<WebSocket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  /** The connection that said hello last; undefined while (re)connecting. */
  #active: WebSocket | undefined;
  #reconnecting = false;
  #replacing = false;
  #closed = false;
  /** Resolves once the first connection said hello, or on close(). */
  readonly firstConnection: Promise<void>;
  #firstConnected!: () => void;

  constructor(options: SocketModeOptions) {
    this.firstConnection = new Promise((resolve) => (this.#firstConnected = resolve));
    this.#options = options;
    this.#log = options.log;
    this.#backoff = new Backoff(options.backoff ?? DEFAULT_BACKOFF);
  }

  /** True while a connection that said hello is open. */
  get connected(): boolean {
    return this.#active?.readyState === WebSocket.OPEN;
  }

  start(): void {
    void this.#reconnect(0);
  }

  /** Stops reconnecting, closes every socket, clears every timer. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#firstConnected();
    this.#abort.abort();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#active = undefined;
    await Promise.all([...this.#sockets].map((socket) => closeSocket(socket)));
  }

  /** Connects until it succeeds or the client is closed, waiting `firstDelayMs`, then backing off. */
  async #reconnect(firstDelayMs: number): Promise<void> {
    if (this.#reconnecting || this.#replacing) return;
    this.#reconnecting = true;
    let delay = firstDelayMs;
    try {
      while (!this.#closed) {
        if (delay > 0) await this.#sleep(delay);
        if (this.#closed) return;
        try {
          this.#active = await this.#open();
          this.#backoff.reset();
          this.#firstConnected();
          return;
        } catch (err) {
          delay = this.#backoff.next();
          if (!this.#closed) {
            this.#log.warn("Slack Socket Mode: could not connect; retrying", {
              error: (err as Error).message,
              retryInMs: delay,
            });
          }
        }
      }
    } finally {
      this.#reconnecting = false;
    }
  }

  /** Slack asked to reconnect: a new connection first, then the old one goes. */
  async #replace(reason: string): Promise<void> {
    if (this.#replacing || this.#reconnecting || this.#closed) return;
    this.#replacing = true;
    const old = this.#active;
    try {
      this.#active = await this.#open();
      this.#log.info("Slack Socket Mode: connection replaced", { reason });
      if (old) void closeSocket(old);
    } catch (err) {
      this.#log.warn("Slack Socket Mode: could not open a replacement connection", {
        reason,
        error: (err as Error).message,
      });
    } finally {
      this.#replacing = false;
    }
    // The old connection dropped while the replacement failed: connect as after any drop.
    if (!this.#closed && this.#active?.readyState !== WebSocket.OPEN) {
      this.#active = undefined;
      void this.#reconnect(this.#backoff.next());
    }
  }

  /** apps.connections.open, then the WebSocket; resolves once Slack said hello. */
  async #open(): Promise<WebSocket> {
    const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(OPEN_TIMEOUT_MS)]);
    const answer = await this.#options.api.call("apps.connections.open", {}, signal);
    // The reason names the method and Slack's error (invalid_auth, not_allowed_token_type, …), never the token.
    if (answer.kind !== "ok") throw new Error(answer.reason);
    const url = answer.body.url;
    if (typeof url !== "string" || !/^wss?:\/\//.test(url)) {
      throw new Error("apps.connections.open answered without a WebSocket URL");
    }
    if (this.#closed) throw new Error("closed");
    const socket = new WebSocket(url);
    this.#sockets.add(socket);
    return new Promise<WebSocket>((resolve, reject) => {
      let greeted = false;
      const helloTimer = this.#timer(() => {
        reject(new Error(`Slack did not say hello within ${this.#helloTimeoutMs} ms`));
        void closeSocket(socket);
      }, this.#helloTimeoutMs);
      socket.addEventListener("message", (event) => {
        const message = parse(event.data);
        if (message?.type === "hello" && !greeted) {
          greeted = true;
          this.#clearTimer(helloTimer);
          resolve(socket);
        } else if (message) this.#onMessage(socket, message);
      });
      socket.addEventListener("close", (event) => {
        this.#sockets.delete(socket);
        this.#clearTimer(helloTimer);
        if (!greeted) {
          reject(new Error(`the WebSocket closed before Slack said hello (code ${event.code})`));
          return;
        }
        if (socket !== this.#active || this.#closed) return;
        this.#active = undefined;
        const delay = this.#backoff.next();
        this.#log.warn("Slack Socket Mode: the connection dropped; reconnecting", {
          code: event.code,
          retryInMs: delay,
        });
        void this.#reconnect(delay);
      });
      // An error is always followed by close, which does the work.
      socket.addEventListener("error", () => {});
    });
  }

  #onMessage(socket: WebSocket, message: Record<string, unknown>): void {
    if (message.type === "disconnect") {
      const reason = typeof message.reason === "string" ? message.reason : "";
      if (reason === "link_disabled") {
        this.#log.error(
          "Slack Socket Mode is turned off for this app (disconnect: link_disabled); turn it on in the app's settings",
        );
        return;
      }
      if (socket === this.#active) void this.#replace(reason);
      return;
    }
    const id = message.envelope_id;
    if (typeof id !== "string" || id === "") return;
    try {
      // Acknowledged before anything runs: Slack wants the ack within 3 s, a command may take longer.
      socket.send(JSON.stringify({ envelope_id: id }));
    } catch {
      // Not acknowledged, so Slack sends it again on the next connection; handled then.
      return;
    }
    if (!this.#recent.firstSighting(id)) {
      this.#log.debug("Slack Socket Mode: envelope re-sent, already handled", {
        envelope: id,
        retryAttempt: message.retry_attempt,
      });
      return;
    }
    try {
      this.#options.onEnvelope(message as unknown as SocketModeEnvelope);
    } catch (err) {
      this.#log.warn("Slack Socket Mode: an envelope could not be handled", {
        type: message.type,
        error: (err as Error).message,
      });
    }
  }

  get #helloTimeoutMs(): number {
    return this.#options.helloTimeoutMs ?? 10_000;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.#timer(resolve, ms));
  }

  #timer(callback: () => void, ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      callback();
    }, ms);
    this.#timers.add(timer);
    return timer;
  }

  #clearTimer(timer: NodeJS.Timeout): void {
    clearTimeout(timer);
    this.#timers.delete(timer);
  }
}

function parse(data: unknown): Record<string, unknown> | undefined {
  if (typeof data !== "string") return undefined;
  try {
    const value: unknown = JSON.parse(data);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Closes a socket and resolves once it is closed (or after a short grace, should the peer not answer). */
function closeSocket(socket: WebSocket): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, CLOSE_GRACE_MS);
    socket.addEventListener("close", () => {
      clearTimeout(timer);
      resolve();
    });
    socket.close(1000);
  });
}
