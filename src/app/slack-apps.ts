/**
 * The Slack apps of the notifiers that post with a bot token: for each, the chat requests (buttons and
 * mentions answered in their thread, see src/slack/chat-requests.ts) the HTTP endpoints hand over, and,
 * when it has an app-level token, its Socket Mode connection. Applied as a whole each time the notifiers
 * change: an app whose settings are unchanged keeps its connection, a changed one is replaced (the new
 * connection opened before the old is closed), one that is gone is closed.
 */
import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Registry } from "prom-client";
import type { ResponseUrlPolicy } from "../ingress/index.ts";
import type { Logger } from "../observability/logger.ts";
import type { CommandAccessConfig } from "../commands/index.ts";
import { SlackChatRequests, type CommandRunner } from "../slack/chat-requests.ts";
import { SlackSocketMode } from "../slack/socket-mode.ts";
import { SlackWebApi } from "../slack/web-api.ts";
import { slackMetrics, type SlackMetrics } from "./slack-metrics.ts";

export interface SlackAppSettings {
  notifier: string;
  /** xoxb-…: the answers are posted with it. */
  botToken: string;
  /** xapp-…: present when the notifier uses Socket Mode. */
  appToken?: string;
  /** Slack's Web API; default https://slack.com/api/. */
  apiUrl?: string;
  allowedExecutors?: readonly string[];
  /** Who may use which executors (spec.commands.access). */
  access?: CommandAccessConfig;
}

/** Envelope types as metric labels; anything else Slack may add is counted as "other". */
const ENVELOPE_TYPES = new Set(["interactive", "events_api", "slash_commands"]);

/** How long a replaced connection stays while its successor connects. */
const HANDOVER_MS = 10_000;

interface RunningApp {
  /** A digest of the settings, so a change is seen without keeping a second copy of the tokens. */
  digest: string;
  requests: SlackChatRequests;
  socket?: SlackSocketMode;
}

export interface SlackAppsOptions {
  commands: CommandRunner;
  /** Where slash commands that arrive over Socket Mode may be answered (their response_url). */
  responseUrls: ResponseUrlPolicy;
  registry: Registry;
  log: Logger;
}

export class SlackApps {
  readonly #options: SlackAppsOptions;
  readonly #metrics: SlackMetrics;
  #running = new Map<string, RunningApp>();
  /** Replaced apps still open while their successors connect. */
  readonly #retiring = new Set<RunningApp>();

  constructor(options: SlackAppsOptions) {
    this.#options = options;
    this.#metrics = slackMetrics(options.registry, () =>
      [...this.#running]
        .filter(([, app]) => app.socket)
        .map(([notifier, app]) => [notifier, app.socket!.connected]),
    );
  }

  /** Starts, keeps, replaces and closes apps so that exactly these run; returns each notifier's requests. */
  set(apps: readonly SlackAppSettings[]): Map<string, SlackChatRequests> {
    const next = new Map<string, RunningApp>();
    for (const settings of apps) {
      const digest = digestOf(settings);
      const current = this.#running.get(settings.notifier);
      if (current?.digest === digest) {
        next.set(settings.notifier, current);
        continue;
      }
      const replacement = this.#start(settings, digest);
      next.set(settings.notifier, replacement);
      // Slack keeps a connection to send to: the old one goes once the new one said hello (or gave up).
      if (current) void this.#retire(current, replacement.socket?.firstConnection);
    }
    for (const [name, app] of this.#running) if (!next.has(name)) void this.#retire(app);
    this.#running = next;
    return new Map([...next].map(([name, app]) => [name, app.requests]));
  }

  async close(): Promise<void> {
    const apps = [...this.#running.values(), ...this.#retiring];
    this.#running = new Map();
    this.#retiring.clear();
    await Promise.all(apps.map(closeApp));
  }

  async #retire(app: RunningApp, successorConnected?: Promise<void>): Promise<void> {
    this.#retiring.add(app);
    if (successorConnected && app.socket) {
      const handover = new AbortController();
      // Unreferenced: a handover still waiting never holds the process open at shutdown.
      await Promise.race([
        successorConnected,
        sleep(HANDOVER_MS, undefined, { signal: handover.signal, ref: false }),
      ]).catch(() => {});
      handover.abort();
    }
    if (this.#retiring.delete(app)) await closeApp(app);
  }

  #start(settings: SlackAppSettings, digest: string): RunningApp {
    const log = this.#options.log.child({ notifier: settings.notifier });
    const requests = new SlackChatRequests({
      notifier: settings.notifier,
      commands: this.#options.commands,
      responseUrls: this.#options.responseUrls,
      allowedExecutors: settings.allowedExecutors,
      access: settings.access,
      api: new SlackWebApi({ token: settings.botToken, apiUrl: settings.apiUrl }),
      log,
    });
    if (!settings.appToken) return { digest, requests };
    const socket = new SlackSocketMode({
      api: new SlackWebApi({ token: settings.appToken, apiUrl: settings.apiUrl }),
      onEnvelope: (envelope) => {
        const type = ENVELOPE_TYPES.has(envelope.type) ? envelope.type : "other";
        this.#metrics.envelopes.inc({ notifier: settings.notifier, type });
        requests.handleEnvelope(envelope);
      },
      log,
    });
    socket.start();
    log.info("Slack Socket Mode: connecting for buttons and mentions");
    return { digest, requests, socket };
  }
}

async function closeApp(app: RunningApp): Promise<void> {
  app.requests.close();
  await app.socket?.close();
}

function digestOf(settings: SlackAppSettings): string {
  return createHash("sha256")
    .update(
      JSON.stringify([
        settings.botToken,
        settings.appToken ?? "",
        settings.apiUrl ?? "",
        settings.allowedExecutors ?? null,
        settings.access ?? null,
      ]),
    )
    .digest("hex");
}
