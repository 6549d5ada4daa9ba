/**
 * The data plane, assembled: plugin hub → router → notifiers, the HTTP ingress with command dispatch
 * and chat, and the management port. `patchbay local` and `patchbay operator` both run one and tell
 * it, as things change, which plugins and notifiers exist; how plugins are started is theirs.
 */
import type { Writable } from "node:stream";
import { collectDefaultMetrics, Registry } from "prom-client";
import { ActionEngine, ActionsStage, fromEdge, type ActionProblem } from "../actions/index.ts";
import type { Action, Notifier, ValueSource } from "../api/v1alpha1/index.ts";
import type { CloudEvent } from "../events/cloudevent.ts";
import { CommandDispatcher } from "../commands/index.ts";
import { PluginHub, type ConnectionTimings } from "../hub/index.ts";
import {
  responseUrlPolicyFromEnv,
  startIngress,
  type ChatChannel,
  type RunningIngress,
} from "../ingress/index.ts";
import {
  startManagementServer,
  type ReadinessCheck,
  type RunningManagementServer,
} from "../management/index.ts";
import {
  createNotifierSink,
  ThreadRoots,
  type NotifierSink,
  type SlackThreadRoot,
  type ThreadStore,
} from "../notifiers/index.ts";
import { namingCluster } from "../notifiers/cluster.ts";
import { MattermostBotSink } from "../notifiers/mattermost-bot.ts";
import { createLogger, type Logger } from "../observability/logger.ts";
import {
  Router,
  routeFor,
  type NotifierRoute,
  type RouterStats,
  type SourceLabels,
} from "../router/index.ts";
import type { SecretResolver } from "../secrets/index.ts";
import { BusNotifiers, openEventBus, type EventBus, type SharedMap } from "../bus/index.ts";
import { HubExecutorDirectory, HubSourceDirectory, type DeclaredExecutor } from "./directories.ts";
import { SlackApps, type SlackAppSettings } from "./slack-apps.ts";
import { DEFAULT_LIMITS, limitsFromEnv, type DataPlaneLimits } from "./limits.ts";

/** Hosts only this machine reaches: an ingress there without tokens is a local run, not an open door. */
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "::1", "localhost"]);
/** A thread whose root is older than this starts anew (the bus forgets it). */
const THREAD_MAX_AGE_MS = 7 * 24 * 3_600_000;

const ANONYMOUS_REFUSAL =
  "the ingress has no bearer tokens, so /events, /sources and /commands are refused (chat endpoints verify their own signatures): " +
  "set PATCHBAY_INGRESS_TOKENS or PATCHBAY_INGRESS_TOKENS_SECRET (the kustomize install reads the Secret patchbay-ingress-tokens, created with a random token when missing), " +
  "or set PATCHBAY_INGRESS_ALLOW_ANONYMOUS=true to answer anyone who can reach the ingress";

export interface DataPlaneOptions {
  ingress: {
    host: string;
    port: number;
    tokens?: string[];
    maxBodyBytes?: number;
    /**
     * Without tokens, on a host other machines reach: true (the default, for local runs) serves anyone
     * with a warning; false refuses /events, /sources and /commands with 503 and how to configure tokens.
     */
    allowAnonymous?: boolean;
  };
  management: { host: string; port: number };
  secrets: SecretResolver;
  log?: Logger;
  /** Where log notifiers write; default stdout. */
  logStream?: Writable;
  hubTimings?: Partial<ConnectionTimings>;
  /** Whether the hub consumes source streams from the start (default true); see PluginHub.setStreaming. */
  streams?: boolean;
  /** Extra readiness checks, e.g. the operator's informers. */
  readinessChecks?: Record<string, ReadinessCheck>;
  /**
   * Where events are held between the edges and the notifiers: a nats:// URL (comma-separated for
   * several servers) for the JetStream bus, whose credentials and stream settings come from
   * PATCHBAY_EVENT_BUS_* (src/bus/config.ts); unset, the router's in-memory queues as always.
   */
  eventBus?: string;
  /** Memory and concurrency limits; unset ones come from the environment (PATCHBAY_MEMORY_BUDGET, …), else defaults. */
  limits?: Partial<DataPlaneLimits>;
  /** The cluster's name (PATCHBAY_CLUSTER_NAME, --cluster-name), shown in every notification; unset, none is. */
  clusterName?: string;
}

/** A Notifier that could not be applied, and why (for a status condition or a log line). */
export interface NotifierProblem {
  name: string;
  message: string;
}

export class DataPlane {
  readonly registry = new Registry();
  readonly hub: PluginHub;
  readonly router: Router;
  readonly #options: DataPlaneOptions;
  readonly #log: Logger;
  readonly #dispatcher: CommandDispatcher;
  /**
   * The Actions (src/actions): every event enters the router through this engine, which may hold it for
   * answers; with the event bus the engine runs in the bus's actions stage instead.
   */
  readonly #actions: ActionEngine;
  /**
   * With a JetStream bus: the edges (ingress, source streams) publish into it and await the store; the
   * notifiers are durable consumers fed by BusNotifiers instead of the router's workers.
   */
  #bus: EventBus | undefined;
  #busNotifiers: BusNotifiers | undefined;
  /** With the bus, where the Actions run (src/actions/bus-stage.ts). */
  #actionsStage: ActionsStage | undefined;
  #hasActions = false;
  /** The routes last applied, kept for the bus's notifiers when they are set before start(). */
  #routes: NotifierRoute[] = [];
  /**
   * Slack and Mattermost app threads outlive the sinks, which every Notifier change rebuilds: in this
   * process's memory, or with the event bus in its shared map, where every replica finds them.
   */
  #sharedThreads: SharedMap<unknown> | undefined;
  readonly #slackThreads = this.#threadStore<SlackThreadRoot>("slack");
  readonly #mattermostThreads = this.#threadStore<string>("mattermost");
  #sourceLabels: readonly SourceLabels[] = [];
  #sourceNames = new Set<string>();
  #executors: DeclaredExecutor[] = [];
  #chat = new Map<string, ChatChannel>();
  /** Notifiers that post as a Slack app: their buttons and mentions, over Socket Mode or HTTP. */
  readonly #slackApps: SlackApps;
  #ingress: RunningIngress | undefined;
  #management: RunningManagementServer | undefined;

  constructor(options: DataPlaneOptions) {
    this.#options = options;
    this.#log = options.log ?? createLogger("patchbay");
    collectDefaultMetrics({ register: this.registry });
    const limits = { ...DEFAULT_LIMITS, ...limitsFromEnv(process.env), ...options.limits };
    this.router = new Router({
      registry: this.registry,
      logger: this.#log.child({ component: "router" }),
      memoryBudgetBytes: limits.memoryBudgetBytes,
      notifierQueueBytes: limits.notifierQueueBytes,
    });
    this.hub = new PluginHub({
      log: this.#log.child({ component: "hub" }),
      onEvent: (event) => this.#fromEdge(event),
      resumeHint: (source) => this.#bus?.lastIdFor(source),
      timings: options.hubTimings,
      streams: options.streams,
    });
    this.#dispatcher = new CommandDispatcher({
      executors: new HubExecutorDirectory(this.hub, () => this.#executors),
      registry: this.registry,
      maxConcurrentPerExecutor: limits.executorConcurrency,
      maxWaitingPerExecutor: limits.executorQueue,
    });
    this.#slackApps = new SlackApps({
      commands: this.#dispatcher,
      responseUrls: responseUrlPolicyFromEnv(process.env),
      registry: this.registry,
      log: this.#log.child({ component: "slack" }),
    });
    this.#actions = new ActionEngine({
      dispatch: (request) => this.#dispatcher.dispatch(request),
      publish: (event, held) =>
        this.#actionsStage ? this.#actionsStage.publish(event, held) : this.router.publish(event),
      publishTo: (event, notifiers) =>
        this.#actionsStage
          ? this.#actionsStage.publishTo(event, notifiers)
          : this.router.publishTo(event, notifiers),
      registry: this.registry,
      log: this.#log.child({ component: "actions" }),
    });
  }

  get ingressUrl(): string | undefined {
    return this.#ingress?.url;
  }

  get managementUrl(): string | undefined {
    return this.#management?.url;
  }

  /**
   * What the ingress publishes into: the bus when configured (awaited), else the action engine, which
   * publishes into the router's queues; the router's memory use is for admission.
   */
  readonly #ingressSink = {
    publish: (event: CloudEvent) => this.#fromEdge(event),
    memoryUse: () => this.router.memoryUse(),
  };

  /** The platform's threads: the bus's shared map once started with one, else this process's memory. */
  #threadStore<Root>(platform: string): ThreadStore<Root> {
    const memory = new ThreadRoots<Root>();
    const shared = () => this.#sharedThreads as SharedMap<Root> | undefined;
    const sharedKey = (key: string) => `${platform}\n${key}`;
    return {
      get: (key) => shared()?.get(sharedKey(key)) ?? memory.get(key),
      set: (key, root) => shared()?.set(sharedKey(key), root) ?? memory.set(key, root),
      delete: (key) => shared()?.delete(sharedKey(key)) ?? memory.delete(key),
    };
  }

  /**
   * Where an event from a source or the ingress goes: stored in the bus (awaited), else the action engine;
   * without the attributes only Patchbay may set, either way.
   */
  #fromEdge(event: CloudEvent): Promise<unknown> | void {
    if (this.#bus) return this.#bus.publish(fromEdge(event));
    this.#actions.accept(fromEdge(event));
  }

  async start(): Promise<void> {
    const { ingress, management } = this.#options;
    const anonymous = (ingress.tokens ?? []).length === 0 && !LOOPBACK_HOSTS.has(ingress.host);
    const refuseAnonymous = anonymous && ingress.allowAnonymous === false;
    if (this.#options.eventBus) {
      // Before the ingress listens: no event is answered before the bus can store it.
      this.#bus = await openEventBus({
        url: this.#options.eventBus,
        registry: this.registry,
        log: this.#log.child({ component: "bus" }),
      });
      this.#busNotifiers = new BusNotifiers(this.#bus, this.#log.child({ component: "notifiers" }));
      this.#busNotifiers.setSources(this.#sourceLabels);
      await this.#busNotifiers.setNotifiers(this.#routes);
      this.#sharedThreads = await this.#bus
        .sharedMap?.("THREADS", { maxAgeMs: THREAD_MAX_AGE_MS })
        .catch((error: unknown) => {
          // Threads then hold within each process only; events are unaffected.
          this.#log.warn(
            "chat threads are not shared between replicas: the bus's key-value bucket is unavailable",
            {
              error: (error as Error).message,
            },
          );
          return undefined;
        });
      this.#actionsStage = new ActionsStage({
        bus: this.#bus,
        notifiers: this.#busNotifiers,
        engine: this.#actions,
        knownNotifiers: () => new Set(this.#routes.map((route) => route.name)),
        log: this.#log.child({ component: "actions" }),
      });
      this.#actionsStage.want(this.#hasActions);
      await this.#actionsStage.settled();
      this.router.setNotifiers([]);
      this.#log.info("events are stored in the event bus before they are acknowledged", {
        bus: this.#bus.description,
      });
    }
    this.#ingress = await startIngress({
      host: ingress.host,
      port: ingress.port,
      sources: new HubSourceDirectory(this.hub, () => this.#sourceNames),
      sink: this.#ingressSink,
      commands: this.#dispatcher,
      chat: { lookup: (name) => this.#chat.get(name) },
      auth: {
        tokens: ingress.tokens ?? [],
        refuseWithoutTokens: refuseAnonymous ? ANONYMOUS_REFUSAL : undefined,
      },
      maxBodyBytes: ingress.maxBodyBytes,
      responseUrls: responseUrlPolicyFromEnv(process.env),
      registry: this.registry,
      log: this.#log.child({ component: "ingress" }),
    });
    if (refuseAnonymous) {
      this.#log.error(ANONYMOUS_REFUSAL, { host: ingress.host });
    } else if (anonymous) {
      this.#log.warn(
        "the ingress has no bearer tokens: /events, /sources and /commands answer anyone who can reach it; set PATCHBAY_INGRESS_TOKENS or PATCHBAY_INGRESS_TOKENS_SECRET",
        { host: ingress.host },
      );
    }
    this.#management = await startManagementServer({
      host: management.host,
      port: management.port,
      registry: this.registry,
      checks: {
        ingress: () => (this.#ingress?.server.listening ? undefined : "the ingress is not listening"),
        router: () => (this.router.accepting ? undefined : "the router is draining"),
        ...this.#options.readinessChecks,
      },
    });
  }

  setSources(sources: readonly SourceLabels[]): void {
    this.#sourceNames = new Set(sources.map((source) => source.name));
    this.router.setSources(sources);
    this.#sourceLabels = sources;
    this.#busNotifiers?.setSources(sources);
    this.#actions.setSources(sources);
  }

  /** Applies the Actions; returns those that could not be compiled and why. */
  setActions(actions: readonly Action[]): ActionProblem[] {
    const problems = this.#actions.setActions(actions);
    // With the event bus the Actions run in the bus's actions stage, subscribed while there are some.
    this.#hasActions = actions.filter((action) => !action.spec.suspend).length > problems.length;
    this.#actionsStage?.want(this.#hasActions);
    return problems;
  }

  setExecutors(executors: readonly DeclaredExecutor[]): void {
    this.#executors = [...executors];
  }

  /** Builds each notifier's sink (resolving its secrets) and applies them all; returns those that failed. */
  async setNotifiers(notifiers: readonly Notifier[]): Promise<NotifierProblem[]> {
    const routes: NotifierRoute[] = [];
    const chat = new Map<string, ChatChannel>();
    const slackApps: SlackAppSettings[] = [];
    const problems: NotifierProblem[] = [];
    for (const notifier of notifiers) {
      if (notifier.spec.suspend) continue;
      const name = notifier.metadata.name;
      const namespace = notifier.metadata.namespace;
      try {
        const sink = await createNotifierSink(notifier.spec, {
          secrets: this.#options.secrets,
          namespace,
          logStream: this.#options.logStream,
          slackThreads: this.#slackThreads,
          mattermostThreads: this.#mattermostThreads,
          name,
        });
        routes.push(routeFor(notifier, namingCluster(sink, this.#options.clusterName)));
        chat.set(name, await this.#chatChannel(notifier, sink));
        const app = await this.#slackApp(notifier);
        if (app) slackApps.push(app);
      } catch (err) {
        problems.push({ name, message: (err as Error).message });
      }
    }
    problems.push(...sharedAppTokens(slackApps));
    for (const [name, requests] of this.#slackApps.set(slackApps)) chat.get(name)!.slackApp = requests;
    this.#routes = routes;
    // With a bus its consumers deliver; before start() the routes wait for it (see start()).
    if (this.#busNotifiers) await this.#busNotifiers.setNotifiers(routes);
    else if (!this.#options.eventBus) this.router.setNotifiers(routes);
    this.#chat = chat;
    return problems;
  }

  /** The event bus when one is configured and started (for dead letters and tests). */
  get eventBus(): EventBus | undefined {
    return this.#bus;
  }

  /** Stops accepting, delivers what is queued until the deadline, then closes everything. */
  async stop(deadlineMs: number): Promise<RouterStats> {
    const until = Date.now() + deadlineMs;
    // No more commands from Slack either: its envelopes go to another replica's connection meanwhile.
    await Promise.all([this.#ingress?.close(Math.min(5_000, deadlineMs / 2)), this.#slackApps.close()]);
    this.#actions.releaseHeld();
    const stats = await this.router.drain(Math.max(0, until - Date.now()));
    this.hub.close();
    this.#actionsStage?.close();
    // Deliveries under way get what is left of the deadline; the rest stays stored for the next process.
    await this.#bus?.close(Math.max(0, until - Date.now()));
    await this.#management?.close();
    return stats;
  }

  /** The notifier's Slack app when it posts with a bot token; its Socket Mode when it has an app-level token. */
  async #slackApp(notifier: Notifier): Promise<SlackAppSettings | undefined> {
    const slack = notifier.spec.slack;
    const appTokenSource = notifier.spec.commands?.slack?.appToken;
    if (!slack?.botToken) {
      if (appTokenSource) {
        throw new Error(
          "spec.commands.slack.appToken needs spec.slack.botToken: Socket Mode answers as the Slack app, with its bot token",
        );
      }
      return undefined;
    }
    const resolve = async (source: ValueSource, field: string) => {
      try {
        return await this.#options.secrets.resolve(source, notifier.metadata.namespace);
      } catch (err) {
        throw new Error(`${field}: ${(err as Error).message}`);
      }
    };
    const appToken = appTokenSource
      ? await resolve(appTokenSource, "spec.commands.slack.appToken")
      : undefined;
    // A bot token here would be refused by Slack on every reconnect; say so once, without the value.
    if (appToken !== undefined && !appToken.startsWith("xapp-")) {
      throw new Error(
        "spec.commands.slack.appToken is not an app-level token (xapp-…): create one with the scope connections:write under Basic Information → App-Level Tokens",
      );
    }
    return {
      notifier: notifier.metadata.name,
      botToken: await resolve(slack.botToken, "spec.slack.botToken"),
      appToken,
      apiUrl: slack.apiUrl,
      allowedExecutors: notifier.spec.commands?.executors,
      access: notifier.spec.commands && {
        groups: notifier.spec.commands.groups,
        access: notifier.spec.commands.access,
      },
    };
  }

  async #chatChannel(notifier: Notifier, sink: NotifierSink): Promise<ChatChannel> {
    const commands = notifier.spec.commands;
    const namespace = notifier.metadata.namespace;
    const secrets = this.#options.secrets;
    // A Mattermost bot's buttons are answered through its own API client, with its own key.
    const bot = sink instanceof MattermostBotSink ? sink.buttons : undefined;
    return {
      type: notifier.spec.type,
      allowedExecutors: commands?.executors,
      access: commands && { groups: commands.groups, access: commands.access },
      slackSigningSecret: commands?.slack?.signingSecret
        ? await secrets.resolve(commands.slack.signingSecret, namespace)
        : undefined,
      mattermostToken: commands?.mattermost
        ? await secrets.resolve(commands.mattermost.token, namespace)
        : undefined,
      // A Mattermost response_url may point only at the server this notifier already posts to.
      mattermostServerOrigin:
        commands?.mattermost && notifier.spec.mattermost?.webhookUrl
          ? originOf(await secrets.resolve(notifier.spec.mattermost.webhookUrl, namespace))
          : bot?.api.origin,
      mattermostBot: bot,
    };
  }
}

/**
 * Slack sends each envelope to one of an app's connections: two notifiers sharing an app-level token
 * would each get some of the other's clicks and mentions, under the wrong executor limits. The second
 * one keeps its HTTP endpoints but gets no Socket Mode connection, and says why.
 */
function sharedAppTokens(apps: SlackAppSettings[]): NotifierProblem[] {
  const owners = new Map<string, string>();
  const problems: NotifierProblem[] = [];
  for (const app of apps) {
    if (!app.appToken) continue;
    const owner = owners.get(app.appToken);
    if (owner === undefined) {
      owners.set(app.appToken, app.notifier);
      continue;
    }
    problems.push({
      name: app.notifier,
      message: `spec.commands.slack.appToken is the same Slack app as notifier "${owner}"'s: Slack would spread the clicks and mentions of both over both connections, so this one has no Socket Mode connection; give each notifier its own Slack app`,
    });
    delete app.appToken;
  }
  return problems;
}

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}
