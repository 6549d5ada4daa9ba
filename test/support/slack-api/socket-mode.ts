/**
 * The Socket Mode half of the Slack stand-in (https://api.slack.com/apis/socket-mode), attached to the
 * Web API stand-in's server:
 *   - apps.connections.open takes an app-level token only (the Web API stand-in answers a bot token with
 *     not_allowed_token_type, an unknown one with invalid_auth) and answers { ok: true, url } with a
 *     one-time ticket; the WebSocket upgrade refuses a missing, unknown or used ticket (401), and more
 *     than 10 open connections per app, as Slack does.
 *   - on connect it says hello; envelopes are { envelope_id, type, payload, accepts_response_payload,
 *     retry_attempt, retry_reason }, sent on the newest connection that said hello.
 *   - every frame the client sends is checked: an ack is a JSON object with the envelope_id of an envelope
 *     that was sent (anything else is recorded in `problems`); an ack later than Slack's 3 s is recorded
 *     there too.
 *   - an envelope not acknowledged within the deadline, or sent on a connection that closed before its
 *     ack, is sent again with retry_attempt + 1 (on an open connection, or on the next to say hello).
 *   - `loseAcks(n)` discards the next n acks as a lossy network would, so the envelopes are sent again.
 *   - `disconnect(reason)` sends Slack's disconnect message and closes that connection later;
 *     `drop()` cuts the newest connection without a closing handshake.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import type { SlackApiStandIn } from "./web-api.ts";

/** Slack: "Your app must acknowledge the envelope within 3 seconds". */
export const SLACK_ACK_DEADLINE_MS = 3_000;
/** Slack allows an app up to 10 Socket Mode connections at once. */
export const MAX_CONNECTIONS = 10;
const APP_ID = "A0PATCHBAY";

export interface SocketModeStandInOptions {
  /** How long an envelope waits for its ack before it is sent again. Default 3 s, as Slack. */
  ackDeadlineMs?: number;
  /** How often an envelope is sent again at most. Default 3. */
  maxRetries?: number;
}

export interface SentEnvelope {
  envelope_id: string;
  type: string;
  payload: unknown;
  accepts_response_payload: boolean;
  retry_attempt: number;
  retry_reason: string;
  /** Which connection (1 for the first opened) it was sent on. */
  connection: number;
}

export interface RecordedAck {
  envelope_id: string;
  connection: number;
  /** Time since that attempt of the envelope was sent. */
  afterMs: number;
}

export interface SocketModeStandIn {
  /** Connections that said hello, in order (1-based numbers): whether each is open, when it opened and closed. */
  connections(): { number: number; open: boolean; openedAt: number; closedAt?: number }[];
  /** Every envelope frame sent, re-sends included. */
  readonly sent: SentEnvelope[];
  readonly acks: RecordedAck[];
  /** Frames from the client that are not a valid ack, and acks later than Slack's 3 s. */
  readonly problems: string[];
  /** Sends an envelope now (or when a connection says hello) and again until it is acknowledged. */
  send(type: string, payload: unknown): string;
  acked(envelopeId: string): boolean;
  /** The next `count` acks are discarded unrecorded, as if lost on the way. */
  loseAcks(count: number): void;
  /** Sends Slack's disconnect message on the newest connection and closes it `closeAfterMs` later. */
  disconnect(reason: string, closeAfterMs?: number): void;
  /** Cuts the newest connection without a closing handshake, as a network failure does. */
  drop(): void;
  close(): Promise<void>;
}

interface Connection {
  number: number;
  socket: WebSocket;
  open: boolean;
  /** performance.now() at the upgrade, and when the socket closed. */
  openedAt: number;
  closedAt?: number;
}

interface Pending {
  envelope: Omit<SentEnvelope, "connection">;
  acked: boolean;
  sentAt: number;
  connection?: Connection;
  timer?: NodeJS.Timeout;
}

export function attachSocketMode(
  standIn: SlackApiStandIn,
  options: SocketModeStandInOptions = {},
): SocketModeStandIn {
  const ackDeadlineMs = options.ackDeadlineMs ?? SLACK_ACK_DEADLINE_MS;
  const maxRetries = options.maxRetries ?? 3;
  const port = (standIn.server.address() as AddressInfo).port;
  const tickets = new Set<string>();
  const connections: Connection[] = [];
  const pending = new Map<string, Pending>();
  const waiting: Pending[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const sent: SentEnvelope[] = [];
  const acks: RecordedAck[] = [];
  const problems: string[] = [];
  const server = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  let acksToLose = 0;

  standIn.handle(
    "apps.connections.open",
    () => {
      const ticket = randomBytes(16).toString("hex");
      tickets.add(ticket);
      return { ok: true, url: `ws://127.0.0.1:${port}/link/?ticket=${ticket}&app_id=${APP_ID}` };
    },
    { tokenKind: "app" },
  );

  const later = (callback: () => void, ms: number) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      callback();
    }, ms);
    timers.add(timer);
    return timer;
  };
  const newest = () => connections.findLast((connection) => connection.open);

  const deliver = (item: Pending) => {
    const connection = newest();
    if (!connection) {
      waiting.push(item);
      return;
    }
    item.connection = connection;
    item.sentAt = Date.now();
    sent.push({ ...item.envelope, connection: connection.number });
    connection.socket.send(JSON.stringify(item.envelope));
    item.timer = later(() => resend(item), ackDeadlineMs);
  };
  const resend = (item: Pending) => {
    if (item.acked || item.envelope.retry_attempt >= maxRetries) return;
    if (item.timer) clearTimeout(item.timer);
    timers.delete(item.timer!);
    item.envelope = {
      ...item.envelope,
      retry_attempt: item.envelope.retry_attempt + 1,
      retry_reason: "timeout",
    };
    deliver(item);
  };

  const onFrame = (connection: Connection, data: RawData, isBinary: boolean) => {
    let ack: unknown;
    try {
      // ws hands a text frame as one Buffer (its default binaryType, "nodebuffer").
      ack = isBinary || !Buffer.isBuffer(data) ? undefined : JSON.parse(data.toString("utf8"));
    } catch {
      ack = undefined;
    }
    const id = (ack as { envelope_id?: unknown } | undefined)?.envelope_id;
    if (typeof ack !== "object" || ack === null || typeof id !== "string") {
      problems.push(`connection ${connection.number}: not an ack: ${data.toString("utf8").slice(0, 200)}`);
      return;
    }
    if (acksToLose > 0) {
      acksToLose--;
      return;
    }
    const item = pending.get(id);
    if (!item) {
      problems.push(`connection ${connection.number}: ack for an envelope never sent: ${id}`);
      return;
    }
    const afterMs = Date.now() - item.sentAt;
    acks.push({ envelope_id: id, connection: connection.number, afterMs });
    if (afterMs > SLACK_ACK_DEADLINE_MS) problems.push(`${id}: acknowledged after ${afterMs} ms`);
    if (item.acked) return;
    item.acked = true;
    if (item.timer) clearTimeout(item.timer);
    timers.delete(item.timer!);
  };

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(request.url ?? "/", "http://stand-in");
    const ticket = url.searchParams.get("ticket") ?? "";
    const refuse = (status: string) => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (url.pathname !== "/link/") return refuse("404 Not Found");
    if (!tickets.delete(ticket)) return refuse("401 Unauthorized");
    if (connections.filter((c) => c.open).length >= MAX_CONNECTIONS) return refuse("429 Too Many Requests");
    server.handleUpgrade(request, socket, head, (ws) => {
      const connection: Connection = {
        number: connections.length + 1,
        socket: ws,
        open: true,
        openedAt: performance.now(),
      };
      connections.push(connection);
      ws.on("message", (data, isBinary) => onFrame(connection, data, isBinary));
      ws.on("error", () => {});
      ws.on("close", () => {
        connection.open = false;
        connection.closedAt = performance.now();
        // What was sent here and not acknowledged goes again, as Slack does after a lost connection.
        for (const item of pending.values()) {
          if (item.connection === connection && !item.acked) resend(item);
        }
      });
      ws.send(
        JSON.stringify({
          type: "hello",
          num_connections: connections.filter((c) => c.open).length,
          debug_info: { host: "applink-stand-in", build_number: 1, approximate_connection_time: 18060 },
          connection_info: { app_id: APP_ID },
        }),
      );
      for (const item of waiting.splice(0)) deliver(item);
    });
  };
  standIn.server.on("upgrade", onUpgrade);

  return {
    connections: () =>
      connections.map(({ number, open, openedAt, closedAt }) => ({ number, open, openedAt, closedAt })),
    sent,
    acks,
    problems,
    send(type, payload) {
      const envelope_id = randomUUID();
      const item: Pending = {
        envelope: {
          envelope_id,
          type,
          payload,
          accepts_response_payload: false,
          retry_attempt: 0,
          retry_reason: "",
        },
        acked: false,
        sentAt: 0,
      };
      pending.set(envelope_id, item);
      deliver(item);
      return envelope_id;
    },
    acked: (envelopeId) => pending.get(envelopeId)?.acked ?? false,
    loseAcks(count) {
      acksToLose = count;
    },
    disconnect(reason, closeAfterMs = 200) {
      const connection = newest();
      if (!connection) throw new Error("no open Socket Mode connection to disconnect");
      connection.socket.send(
        JSON.stringify({ type: "disconnect", reason, debug_info: { host: "applink-stand-in" } }),
      );
      later(() => connection.socket.close(1000, "refresh"), closeAfterMs);
    },
    drop() {
      const connection = newest();
      if (!connection) throw new Error("no open Socket Mode connection to drop");
      connection.open = false;
      connection.socket.terminate();
    },
    async close() {
      standIn.server.off("upgrade", onUpgrade);
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const connection of connections) if (connection.open) connection.socket.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
