/**
 * Which bus to run: `--event-bus nats://HOST:PORT` (patchbay local) or PATCHBAY_EVENT_BUS (the
 * operator, whose Deployment fills the credentials from a Secret). Nothing configured → the in-memory bus.
 *
 * Credentials: user:password@ or token@ in the URL, or PATCHBAY_EVENT_BUS_USER and _PASSWORD,
 * PATCHBAY_EVENT_BUS_TOKEN, or PATCHBAY_EVENT_BUS_CREDS (the path of a NATS credentials file).
 * Stream settings: PATCHBAY_EVENT_BUS_REPLICAS, _MAX_AGE_SECONDS, _MAX_BYTES, _PUBLISH_TIMEOUT_MS.
 */
import { readFileSync } from "node:fs";
import type { Registry } from "prom-client";
import type { Logger } from "../observability/logger.ts";
import type { EventBus } from "./event-bus.ts";
import { JetStreamBus, type JetStreamBusOptions } from "./jetstream-bus.ts";
import { MemoryBus } from "./memory-bus.ts";

export class EventBusConfigError extends Error {
  override name = "EventBusConfigError";
}

type Env = Record<string, string | undefined>;

/** Reads the URL(s) and the environment; throws an EventBusConfigError that names what is wrong. */
export function jetStreamOptions(url: string, env: Env = process.env): JetStreamBusOptions {
  const servers: string[] = [];
  let user: string | undefined;
  let pass: string | undefined;
  let token: string | undefined;
  for (const part of url
    .split(",")
    .map((text) => text.trim())
    .filter(Boolean)) {
    let parsed: URL;
    try {
      parsed = new URL(part);
    } catch {
      throw new EventBusConfigError(
        `event bus: "${withoutUserInfo(part)}" is not a URL (e.g. nats://127.0.0.1:4222)`,
      );
    }
    if (parsed.protocol !== "nats:" && parsed.protocol !== "tls:") {
      throw new EventBusConfigError(
        `event bus: only nats:// and tls:// URLs are supported, not ${parsed.protocol}//`,
      );
    }
    if (parsed.username && parsed.password) {
      user = decodeURIComponent(parsed.username);
      pass = decodeURIComponent(parsed.password);
    } else if (parsed.username) {
      token = decodeURIComponent(parsed.username);
    }
    servers.push(`${parsed.protocol}//${parsed.host}`);
  }
  if (servers.length === 0) throw new EventBusConfigError("event bus: no server URL given");
  user = env.PATCHBAY_EVENT_BUS_USER || user;
  pass = env.PATCHBAY_EVENT_BUS_PASSWORD || pass;
  token = env.PATCHBAY_EVENT_BUS_TOKEN || token;
  let creds: Uint8Array | undefined;
  if (env.PATCHBAY_EVENT_BUS_CREDS) {
    try {
      creds = readFileSync(env.PATCHBAY_EVENT_BUS_CREDS);
    } catch (error) {
      throw new EventBusConfigError(
        `event bus: cannot read the credentials file PATCHBAY_EVENT_BUS_CREDS: ${(error as Error).message}`,
      );
    }
  }
  const maxAgeSeconds = positive(env, "PATCHBAY_EVENT_BUS_MAX_AGE_SECONDS");
  return {
    servers,
    user,
    pass,
    token,
    creds,
    replicas: positive(env, "PATCHBAY_EVENT_BUS_REPLICAS"),
    maxAgeMs: maxAgeSeconds === undefined ? undefined : maxAgeSeconds * 1000,
    maxBytes: positive(env, "PATCHBAY_EVENT_BUS_MAX_BYTES"),
    publishTimeoutMs: positive(env, "PATCHBAY_EVENT_BUS_PUBLISH_TIMEOUT_MS"),
  };
}

export interface OpenEventBusOptions {
  /** A nats:// URL (comma-separated for several servers); undefined or "" → the in-memory bus. */
  url: string | undefined;
  env?: Env;
  registry?: Registry;
  log?: Logger;
}

export async function openEventBus(options: OpenEventBusOptions): Promise<EventBus> {
  const { url, registry, log } = options;
  if (!url) return new MemoryBus({ registry, log });
  return JetStreamBus.open({ ...jetStreamOptions(url, options.env), registry, log });
}

function positive(env: Env, name: string): number | undefined {
  const text = env[name];
  if (text === undefined || text === "") return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0)
    throw new EventBusConfigError(`event bus: ${name} must be a positive whole number (got "${text}")`);
  return value;
}

function withoutUserInfo(text: string): string {
  return text.replace(/\/\/[^@/]*@/, "//");
}
