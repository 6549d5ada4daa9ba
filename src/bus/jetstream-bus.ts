/**
 * The NATS JetStream bus. One stream (file storage, replicas configurable, limits on age and bytes)
 * holds every event on `<prefix>.<source>`; each event is published with the message id
 * `<source>/<id>`, so JetStream's duplicate window is the dedup window, shared by every replica and
 * surviving restarts. publish() resolves only on the stream's PubAck.
 *
 * Each notifier is one durable pull consumer with explicit acks that every replica pulls from: an event
 * is acked once the platform accepted it, naked with a delay for a retry (the server holds it, not this
 * process), or copied to the dead-letter stream with its reason and then acked. A process that dies
 * mid-delivery leaves the event unacked: the server hands it out again after the ack wait.
 */
import { createHash } from "node:crypto";
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type StreamConfig,
} from "@nats-io/jetstream";
import {
  connect,
  credsAuthenticator,
  headers as natsHeaders,
  nanos,
  type Authenticator,
  type NatsConnection,
} from "@nats-io/transport-node";
import { Kvm } from "@nats-io/kv";
import type { Registry } from "prom-client";
import type { CloudEvent } from "../events/cloudevent.ts";
import { createLogger, type Logger } from "../observability/logger.ts";
import {
  ACK,
  BusUnavailableError,
  emptySubscriptionStats,
  type BusStats,
  type DeadLetter,
  type DeliveryHandler,
  type EventBus,
  type PublishOptions,
  type PublishOutcome,
  type Settlement,
  type SharedMap,
  type SubscriptionOptions,
  type SubscriptionStats,
} from "./event-bus.ts";
import { unlessAborted } from "./unless-aborted.ts";
import { headerText, messageId, nameToken, tokenToName } from "./keys.ts";
import { busMetrics, forgetBus, type BusMetrics } from "./metrics.ts";

export interface JetStreamBusOptions {
  /** nats://host:port URLs; user:password@ or token@ in a URL are used as credentials. */
  servers: string[];
  user?: string;
  pass?: string;
  token?: string;
  /** The content of a NATS credentials file (user JWT and NKey seed). */
  creds?: Uint8Array;
  /** Default PATCHBAY_EVENTS, on subjects patchbay.events.<source>. */
  stream?: string;
  subjectPrefix?: string;
  /** Default PATCHBAY_DEAD_LETTERS, on subjects patchbay.dead.<notifier>. */
  deadLetterStream?: string;
  deadLetterSubjectPrefix?: string;
  /** Copies of each stream in a cluster (default 1; 3 for a 3-server cluster). */
  replicas?: number;
  /** Events older than this are removed (default 7 days). */
  maxAgeMs?: number;
  /** When the stream is larger, its oldest events are removed (default 1 GiB). */
  maxBytes?: number;
  /** How long a (source, id) is remembered for dedup (default 10 minutes; at most maxAgeMs). */
  duplicateWindowMs?: number;
  /** Dead letters are kept this long (default 14 days) and up to this size (default 256 MiB). */
  deadLetterMaxAgeMs?: number;
  deadLetterMaxBytes?: number;
  /** How long publish() waits for the PubAck before it rejects (default 5 s). */
  publishTimeoutMs?: number;
  /** What a 503 advises the producer to wait (default 5 s). */
  retryAfterSeconds?: number;
  /** How long open() keeps trying to create the streams while a cluster elects its leaders (default 30 s). */
  setupTimeoutMs?: number;
  /** Delay of the retry after a handler that threw or a dead letter that could not be stored (default 1 s). */
  failedHandlerRetryMs?: number;
  /**
   * Create the streams, or bring their settings in line with these options (default true). A tool that
   * only reads or replays dead letters passes false: it must not change a running deployment's streams.
   */
  manageStreams?: boolean;
  registry?: Registry;
  log?: Logger;
}

const DEFAULTS = {
  stream: "PATCHBAY_EVENTS",
  subjectPrefix: "patchbay.events",
  deadLetterStream: "PATCHBAY_DEAD_LETTERS",
  deadLetterSubjectPrefix: "patchbay.dead",
  replicas: 1,
  maxAgeMs: 7 * 24 * 3_600_000,
  maxBytes: 1024 ** 3,
  duplicateWindowMs: 10 * 60_000,
  deadLetterMaxAgeMs: 14 * 24 * 3_600_000,
  deadLetterMaxBytes: 256 * 1024 ** 2,
  publishTimeoutMs: 5_000,
  retryAfterSeconds: 5,
  setupTimeoutMs: 30_000,
  failedHandlerRetryMs: 1_000,
};

/** JetStream API calls (stream and consumer info, acks with confirmation) wait at most this long. */
const API_TIMEOUT_MS = 5_000;
/** A pull that came back empty sooner than this is followed by this pause before the next one. */
const EMPTY_PULL_PAUSE_MS = 250;
/** How long close() waits to flush the last acks before it closes the connection anyway. */
const CLOSE_FLUSH_MS = 2_000;
/** Messages asked for per pull, and how long a pull waits at most for them. */
const FETCH_BATCH = 128;
const FETCH_EXPIRES_MS = 5_000;
/** Scanning the dead letters reads at most this many messages. */
const MAX_DEAD_LETTER_SCAN = 10_000;
/** Bounds the subject cache if a caller publishes many source names nobody declared. */
const MAX_CACHED_SUBJECTS = 10_000;
/**
 * Stream sequences a subscription remembers as settled by this process. nats-server 2.9.10 can hand a
 * message out once more after it was acked: after a SIGKILL, the event the dead process held went to a
 * pull of that dead process, then (ack wait over) to the new process, which delivered and acked it; the
 * very next pull got the same stream sequence again as a first delivery (delivery count 1), the server
 * having moved its position back over it. Remembering the last few settled sequences turns that repeat
 * into a second ack instead of a second notification (within one process; see the README).
 */
const SETTLED_MEMORY = 1_024;

/**
 * A replayed dead letter goes on `<prefix>._replay_.<notifier>`: never a source's subject (nameToken
 * never yields "_replay_"), so lastIdFor is untouched; every consumer sees it, only that notifier's
 * delivers it.
 */
const REPLAY_TOKEN = "_replay_";
/** Derived events (publish's derivedId) go on `<prefix>._derived_.<source>`: apart from lastIdFor's subject. */
const DERIVED_TOKEN = "_derived_";

const HEADER = {
  notifier: "Patchbay-Notifier",
  reason: "Patchbay-Reason",
  attempts: "Patchbay-Attempts",
  streamSequence: "Patchbay-Stream-Sequence",
} as const;

type Settings = typeof DEFAULTS;

export class JetStreamBus implements EventBus {
  readonly kind = "jetstream";
  readonly description: string;
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #settings: Settings;
  readonly #subjects = new Map<string, string>();
  readonly #subscriptions = new Map<string, JetStreamSubscription>();
  readonly #registry: Registry | undefined;
  readonly #metrics: BusMetrics | undefined;
  readonly #log: Logger;
  #closed = false;

  /** Connects, and creates or updates the two streams; rejects when the servers cannot be reached. */
  static async open(options: JetStreamBusOptions): Promise<JetStreamBus> {
    const settings: Settings = { ...DEFAULTS, ...definedOnly(options) };
    settings.duplicateWindowMs = Math.min(settings.duplicateWindowMs, settings.maxAgeMs);
    const log = options.log ?? createLogger("bus");
    const authenticator: Authenticator | undefined = options.creds
      ? credsAuthenticator(options.creds)
      : undefined;
    const nc = await connect({
      servers: options.servers,
      user: options.user,
      pass: options.pass,
      token: options.token,
      authenticator,
      name: "patchbay",
      // Never give up: while the servers are away publish() answers "unavailable" and consumers wait.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      timeout: settings.publishTimeoutMs,
      // Otherwise every request (each publish's PubAck, each confirmed ack) builds two Error objects up
      // front for their stack traces: a quarter of the host's CPU under load, for traces nothing logs.
      noAsyncTraces: true,
    });
    try {
      // No account check here: a cluster that has just started answers it only once it has a leader,
      // and ensureStreams() below waits for that.
      const jsm = await jetstreamManager(nc, { timeout: API_TIMEOUT_MS, checkAPI: false });
      if (options.manageStreams !== false) await ensureStreams(jsm, settings, log);
      return new JetStreamBus(nc, jsm, settings, options, log);
    } catch (error) {
      await nc.close();
      throw error;
    }
  }

  private constructor(
    nc: NatsConnection,
    jsm: JetStreamManager,
    settings: Settings,
    options: JetStreamBusOptions,
    log: Logger,
  ) {
    this.#nc = nc;
    this.#jsm = jsm;
    this.#js = jetstream(nc, { timeout: API_TIMEOUT_MS });
    this.#settings = settings;
    this.#log = log;
    this.#registry = options.registry;
    this.#metrics = options.registry ? busMetrics(options.registry, this) : undefined;
    const where = options.servers.map(withoutCredentials).join(",");
    this.description = `NATS JetStream at ${where}, stream ${settings.stream} (replicas ${settings.replicas})`;
    void this.#watchConnection();
  }

  async publish(event: CloudEvent, options: PublishOptions = {}): Promise<PublishOutcome> {
    const started = performance.now();
    const { publishTimeoutMs, retryAfterSeconds } = this.#settings;
    if (this.#closed) {
      this.#observe("unavailable", started);
      throw new BusUnavailableError("the event bus is shutting down", 1);
    }
    const { derivedId } = options;
    const subject =
      derivedId === undefined
        ? this.#subjectFor(event.source)
        : `${this.#settings.subjectPrefix}.${DERIVED_TOKEN}.${nameToken(event.source)}`;
    const msgID = derivedId === undefined ? messageId(event.source, event.id) : `derived/${derivedId}`;
    let timer: NodeJS.Timeout | undefined;
    try {
      const ack = await Promise.race([
        this.#js.publish(subject, Buffer.from(JSON.stringify(event)), {
          msgID,
          timeout: publishTimeoutMs,
        }),
        // The client retries on "no responders" beyond its own timeout; the caller's answer may not wait.
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no acknowledgement within ${publishTimeoutMs} ms`)),
            publishTimeoutMs,
          );
        }),
      ]);
      const outcome: PublishOutcome = ack.duplicate ? "duplicate" : "stored";
      this.#observe(outcome, started);
      return outcome;
    } catch (error) {
      this.#observe("unavailable", started);
      throw new BusUnavailableError(
        `the event bus did not store the event: ${(error as Error).message}`,
        retryAfterSeconds,
        { cause: error },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  async lastIdFor(source: string): Promise<string | undefined> {
    try {
      const stored = await this.#jsm.streams.getMessage(this.#settings.stream, {
        last_by_subj: this.#subjectFor(source),
      });
      return stored ? stored.json<CloudEvent>().id : undefined;
    } catch (error) {
      if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.NoMessageFound)
        return undefined;
      throw new BusUnavailableError(
        `could not read the last event stored for source "${source}": ${(error as Error).message}`,
        this.#settings.retryAfterSeconds,
        { cause: error },
      );
    }
  }

  async subscribe(
    notifier: string,
    handler: DeliveryHandler,
    options: SubscriptionOptions = {},
  ): Promise<void> {
    if (this.#closed) throw new BusUnavailableError("the event bus is shutting down", 1);
    const durable = consumerName(notifier);
    const config: Partial<ConsumerConfig> = {
      durable_name: durable,
      description: `Patchbay notifier ${notifier}`,
      ack_policy: AckPolicy.Explicit,
      // A notifier added later starts from new events.
      deliver_policy: DeliverPolicy.New,
      filter_subject: `${this.#settings.subjectPrefix}.>`,
      ack_wait: nanos(options.ackWaitMs ?? 60_000),
      max_ack_pending: Math.max(1, options.maxInFlight ?? 1),
      // Retries are counted by the handler's policy, which dead-letters after the last one.
      max_deliver: -1,
    };
    await this.#ensureConsumer(durable, config);
    const existing = this.#subscriptions.get(notifier);
    if (existing) {
      existing.configure(handler, options);
      return;
    }
    const consumer = await this.#js.consumers.get(this.#settings.stream, durable);
    const subscription = new JetStreamSubscription(notifier, handler, options, {
      // Up to FETCH_BATCH messages per pull; the server hands out no more than max_ack_pending at once
      // (one by default), so the pull stays open and the next message follows each ack without a new
      // request. On close the pull's subscription is drained (see release): what the server sent before
      // it dropped the pull still arrives here and is handed back, never left to the ack wait.
      fetch: () => consumer.fetch({ max_messages: FETCH_BATCH, expires: FETCH_EXPIRES_MS }),
      // A PING answered means the server has seen everything sent before it, the pull's UNSUB included.
      flush: () => this.#nc.flush(),
      info: async () => {
        const info = await consumer.info();
        return { pending: info.num_pending, ackPending: info.num_ack_pending };
      },
      deadLetter: (msg, reason, attempts) => this.#deadLetter(notifier, msg, reason, attempts),
      isReplayForAnother: (subject) =>
        subject.startsWith(this.#replayPrefix) && subject !== this.#replaySubject(notifier),
      failedHandlerRetryMs: this.#settings.failedHandlerRetryMs,
      log: this.#log,
    });
    this.#subscriptions.set(notifier, subscription);
    subscription.start();
  }

  /**
   * A key-value bucket `<stream>_<name>` (file storage, this bus's replicas, one value per key, entries
   * removed `maxAgeMs` after they were set). Keys are hashed: a bucket's keys allow only a few characters.
   */
  async sharedMap<T>(name: string, options: { maxAgeMs: number }): Promise<SharedMap<T>> {
    const bucket = await new Kvm(this.#js).create(`${this.#settings.stream}_${name}`, {
      description: `Patchbay: ${name.toLowerCase()} shared by every replica`,
      history: 1,
      ttl: options.maxAgeMs,
      replicas: this.#settings.replicas,
      storage: StorageType.File,
    });
    const keyOf = (key: string) => createHash("sha256").update(key).digest("hex");
    return {
      async get(key) {
        const entry = await bucket.get(keyOf(key));
        return entry?.operation === "PUT" ? entry.json<T>() : undefined;
      },
      async set(key, value) {
        await bucket.put(keyOf(key), JSON.stringify(value));
      },
      async delete(key) {
        await bucket.delete(keyOf(key));
      },
    };
  }

  async removeSubscription(notifier: string): Promise<void> {
    const subscription = this.#subscriptions.get(notifier);
    this.#subscriptions.delete(notifier);
    await subscription?.stop(0);
    try {
      await this.#jsm.consumers.delete(this.#settings.stream, consumerName(notifier));
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound))
        throw error;
    }
  }

  async stats(): Promise<BusStats> {
    const info = await this.#jsm.streams.info(this.#settings.stream);
    const subscriptions: Record<string, SubscriptionStats> = {};
    await Promise.all(
      [...this.#subscriptions].map(async ([name, subscription]) => {
        subscriptions[name] = await subscription.stats();
      }),
    );
    return { storedMessages: info.state.messages, storedBytes: info.state.bytes, subscriptions };
  }

  async deadLetters(options: { notifier?: string; limit?: number } = {}): Promise<DeadLetter[]> {
    const limit = options.limit ?? 100;
    const { deadLetterStream, deadLetterSubjectPrefix } = this.#settings;
    const subject =
      options.notifier === undefined
        ? undefined
        : `${deadLetterSubjectPrefix}.${nameToken(options.notifier)}`;
    const { state } = await this.#jsm.streams.info(deadLetterStream);
    const letters: DeadLetter[] = [];
    const last = Math.min(state.last_seq, state.first_seq + MAX_DEAD_LETTER_SCAN - 1);
    for (let seq = state.first_seq; seq <= last && letters.length < limit && state.messages > 0; seq++) {
      let stored;
      try {
        stored = await this.#jsm.streams.getMessage(deadLetterStream, { seq });
      } catch (error) {
        // Removed by the age limit between the info and now, or a gap left by a deletion.
        if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.NoMessageFound) continue;
        throw error;
      }
      if (!stored || (subject !== undefined && stored.subject !== subject)) continue;
      letters.push({
        notifier:
          stored.header.get(HEADER.notifier) ||
          tokenToName(stored.subject.slice(deadLetterSubjectPrefix.length + 1)),
        reason: stored.header.get(HEADER.reason),
        attempts: Number(stored.header.get(HEADER.attempts)) || 0,
        event: parseEvent(stored.data) ?? unreadableEvent(stored.data),
        time: stored.time,
        sequence: stored.seq,
      });
    }
    return letters;
  }

  /**
   * Hands dead letters (of one notifier, or all; oldest first, at most `limit`) back to their notifier
   * only, as new deliveries with a fresh count of retries, and removes each from the dead letters once
   * the replay is stored. The replay's message id is the dead letter's sequence, so a replay repeated
   * after a crash between the two steps is a duplicate, not a second delivery.
   */
  async replayDeadLetters(options: { notifier?: string; limit?: number } = {}): Promise<DeadLetter[]> {
    const { deadLetterStream, publishTimeoutMs } = this.#settings;
    const replayed: DeadLetter[] = [];
    for (const letter of await this.deadLetters(options)) {
      // Unreadable payloads would only be dead-lettered again.
      if (letter.sequence === undefined || letter.event.id === "") continue;
      await this.#js.publish(
        this.#replaySubject(letter.notifier),
        Buffer.from(JSON.stringify(letter.event)),
        {
          msgID: `replay/${nameToken(letter.notifier)}/${letter.sequence}`,
          timeout: publishTimeoutMs,
        },
      );
      await this.#jsm.streams.deleteMessage(deadLetterStream, letter.sequence, false);
      replayed.push(letter);
    }
    return replayed;
  }

  /** Lets deliveries under way finish for up to `drainMs`; what is not done stays stored for the next process. */
  async close(drainMs = 0): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const subscriptions = [...this.#subscriptions.values()];
    this.#subscriptions.clear();
    await Promise.all(subscriptions.map((subscription) => subscription.stop(drainMs)));
    if (this.#registry) forgetBus(this.#registry, this);
    // drain() sends the acks and naks still buffered, then closes; with the servers away it would wait
    // for them, so it gets a moment and then the connection is simply closed.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#nc.drain().catch(() => undefined),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_FLUSH_MS))),
    ]);
    clearTimeout(timer);
    if (!this.#nc.isClosed()) await this.#nc.close();
  }

  get #replayPrefix(): string {
    return `${this.#settings.subjectPrefix}.${REPLAY_TOKEN}.`;
  }

  #replaySubject(notifier: string): string {
    return `${this.#replayPrefix}${nameToken(notifier)}`;
  }

  #subjectFor(source: string): string {
    let subject = this.#subjects.get(source);
    if (subject === undefined) {
      if (this.#subjects.size >= MAX_CACHED_SUBJECTS) this.#subjects.clear();
      subject = `${this.#settings.subjectPrefix}.${nameToken(source)}`;
      this.#subjects.set(source, subject);
    }
    return subject;
  }

  #observe(result: PublishOutcome | "unavailable", started: number): void {
    this.#metrics?.publishDuration.observe({ bus: this.kind, result }, (performance.now() - started) / 1000);
  }

  async #ensureConsumer(durable: string, config: Partial<ConsumerConfig>): Promise<void> {
    const { stream } = this.#settings;
    try {
      const info = await this.#jsm.consumers.info(stream, durable);
      if (
        info.config.ack_wait !== config.ack_wait ||
        info.config.max_ack_pending !== config.max_ack_pending
      ) {
        await this.#jsm.consumers.update(stream, durable, {
          ack_wait: config.ack_wait,
          max_ack_pending: config.max_ack_pending,
        });
      }
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound))
        throw error;
      // Two replicas may both get here: the server answers an identical create as a success.
      await this.#jsm.consumers.add(stream, config);
    }
  }

  /** Copies the message to the dead letters; its id makes a repeat after a crash a duplicate, not a second copy. */
  async #deadLetter(notifier: string, msg: JsMsg, reason: string, attempts: number): Promise<void> {
    const { deadLetterSubjectPrefix, publishTimeoutMs } = this.#settings;
    const headers = natsHeaders();
    headers.set(HEADER.notifier, headerText(notifier, 256));
    headers.set(HEADER.reason, headerText(reason));
    headers.set(HEADER.attempts, String(attempts));
    headers.set(HEADER.streamSequence, String(msg.seq));
    await this.#js.publish(`${deadLetterSubjectPrefix}.${nameToken(notifier)}`, msg.data, {
      msgID: `${messageId(notifier, String(msg.seq))}`,
      headers,
      timeout: publishTimeoutMs,
    });
  }

  async #watchConnection(): Promise<void> {
    for await (const status of this.#nc.status()) {
      if (status.type === "disconnect" || status.type === "reconnect")
        this.#log.warn(`event bus ${status.type === "disconnect" ? "disconnected" : "reconnected"}`, {
          server: status.server,
        });
    }
  }
}

interface SubscriptionDependencies {
  fetch(): Promise<ConsumerMessages>;
  flush(): Promise<void>;
  info(): Promise<{ pending: number; ackPending: number }>;
  deadLetter(msg: JsMsg, reason: string, attempts: number): Promise<void>;
  /** A replayed dead letter of another notifier: acked unseen. */
  isReplayForAnother(subject: string): boolean;
  failedHandlerRetryMs: number;
  log: Logger;
}

/** This process's share of one notifier's deliveries. */
class JetStreamSubscription {
  readonly #notifier: string;
  #handler: DeliveryHandler;
  #select: ((event: CloudEvent) => boolean) | undefined;
  readonly #dependencies: SubscriptionDependencies;
  readonly #abort = new AbortController();
  readonly #stats = emptySubscriptionStats();
  /** Deliveries this process handles at once. */
  readonly #parallel: number;
  /** Deliveries being handled, and whether each has been settled. */
  readonly #active = new Map<JsMsg, { settled: boolean; done: Promise<void> }>();
  /** Stream sequences this process acked or dead-lettered lately, oldest first (SETTLED_MEMORY at most). */
  readonly #settled = new Set<number>();
  #messages: ConsumerMessages | undefined;
  #stopping = false;
  #loop: Promise<void> = Promise.resolve();
  #cancelPause: (() => void) | undefined;

  constructor(
    notifier: string,
    handler: DeliveryHandler,
    options: SubscriptionOptions,
    dependencies: SubscriptionDependencies,
  ) {
    this.#notifier = notifier;
    this.#handler = handler;
    this.#select = options.select;
    this.#parallel = options.parallel ? Math.max(1, options.maxInFlight ?? 1) : 1;
    this.#dependencies = dependencies;
  }

  start(): void {
    this.#loop = this.#run().catch((error: unknown) => {
      // Unreachable by design; if it happens, say so: the events stay stored, but nobody here pulls.
      this.#dependencies.log.error("delivery loop crashed", {
        notifier: this.#notifier,
        error: (error as Error).stack,
      });
    });
  }

  configure(handler: DeliveryHandler, options: SubscriptionOptions): void {
    this.#handler = handler;
    this.#select = options.select;
  }

  async stats(): Promise<SubscriptionStats> {
    const { pending, ackPending } = await this.#dependencies.info();
    return { ...this.#stats, dropped: { ...this.#stats.dropped }, pending, ackPending };
  }

  /**
   * Pulls nothing more; deliveries under way get `drainMs` to settle, then are aborted and handed
   * back (nak) so another process takes them at once rather than after the ack wait.
   */
  async stop(drainMs: number): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#cancelPause?.();
    // Stop pulling first, and make sure the server has dropped the pull before anything is handed back.
    // Bounded, since the server may be away (then the naks are not delivered either, and the ack wait
    // hands them out).
    if (this.#messages) await this.#release(this.#messages);
    const active = [...this.#active.values()].map((entry) => entry.done);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(active),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, drainMs)))),
    ]);
    clearTimeout(timer);
    this.#abort.abort(new Error(`notifier ${this.#notifier} stopped`));
    for (const [msg, entry] of this.#active) {
      if (entry.settled) continue;
      entry.settled = true;
      msg.nak();
    }
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      try {
        const asked = performance.now();
        let received = 0;
        const messages = await this.#dependencies.fetch();
        this.#messages = messages;
        if (this.#stopping) {
          await this.#release(messages);
          for await (const msg of messages) msg.nak();
          return;
        }
        for await (const msg of messages) {
          received++;
          if (this.#stopping) {
            msg.nak();
            continue;
          }
          const entry = { settled: false, done: Promise.resolve() };
          entry.done = this.#handle(msg, entry).finally(() => this.#active.delete(msg));
          this.#active.set(msg, entry);
          // One at a time in this process unless parallel; max_ack_pending above one lets other processes
          // work meanwhile (and gives up the order). With one, a retry holds back the events behind it.
          while (this.#active.size >= this.#parallel)
            await Promise.race([...this.#active.values()].map((active) => active.done));
        }
        // A pull that ended at once with nothing (the server going away, say) must not spin.
        if (received === 0 && performance.now() - asked < EMPTY_PULL_PAUSE_MS)
          await this.#pause(EMPTY_PULL_PAUSE_MS);
      } catch (error) {
        if (this.#stopping) return;
        this.#dependencies.log.warn("pulling from the event bus failed; trying again", {
          notifier: this.#notifier,
          error: (error as Error).message,
        });
        await this.#pause(1_000);
      }
    }
  }

  /**
   * Ends a pull. Its subscription is drained, not dropped: the UNSUB goes to the server and whatever
   * the server sent before it processed that (a message that followed the last ack, say) still comes
   * into the iterator, where the loop hands it back; a plain close() would drop such a message here and
   * leave it with the server until the ack wait. Then the iterator ends. Bounded: the server may be away.
   */
  async #release(messages: ConsumerMessages): Promise<void> {
    const sub = (messages as unknown as { sub?: { drain(): Promise<void>; isClosed(): boolean } }).sub;
    if (sub !== undefined && !sub.isClosed()) {
      await withTimeout(
        Promise.resolve().then(() => sub.drain()),
        API_TIMEOUT_MS,
      );
    } else {
      // A PING answered means the server has seen everything sent before it, the pull's UNSUB included.
      await withTimeout(this.#dependencies.flush(), API_TIMEOUT_MS);
    }
    // Not awaited: the iterator ends only once the loop has left its for-await, which it does after the
    // delivery under way, and that may be the one stop() waits for.
    void messages.close().catch(() => undefined);
  }

  async #handle(msg: JsMsg, entry: { settled: boolean }): Promise<void> {
    const attempt = msg.info.deliveryCount;
    if (this.#settled.has(msg.seq)) {
      // Done with already (see SETTLED_MEMORY): the platform has it; the server only needs the ack again.
      entry.settled = true;
      this.#stats.alreadySettled++;
      this.#dependencies.log.warn("the event bus handed out an event this process had settled; acked again", {
        notifier: this.#notifier,
        streamSequence: msg.seq,
        deliveryCount: attempt,
      });
      await this.#confirmAck(msg);
      return;
    }
    if (this.#dependencies.isReplayForAnother(msg.subject)) {
      entry.settled = true;
      msg.ack();
      this.#remember(msg.seq);
      this.#stats.skipped++;
      return;
    }
    const event = parseEvent(msg.data);
    let settlement: Settlement;
    if (event === undefined) {
      settlement = { kind: "dead-letter", reason: "the stored message is not a CloudEvent in JSON" };
    } else if (this.#select !== undefined && !this.#select(event)) {
      entry.settled = true;
      msg.ack();
      this.#remember(msg.seq);
      this.#stats.skipped++;
      return;
    } else {
      try {
        // A handler that ignores the abort must not hold up stop(): stop() has handed the event back.
        const signal = this.#abort.signal;
        settlement = await unlessAborted(
          this.#handler({ event, attempt, signal, working: () => msg.working() }),
          signal,
          ACK,
        );
      } catch (error) {
        this.#dependencies.log.warn("delivery handler threw; retrying", {
          notifier: this.#notifier,
          error: (error as Error)?.message ?? String(error),
        });
        settlement = { kind: "retry", delayMs: this.#dependencies.failedHandlerRetryMs };
      }
    }
    // stop() handed it back already.
    if (entry.settled) return;
    entry.settled = true;
    switch (settlement.kind) {
      case "ack":
        this.#stats.acked++;
        this.#remember(msg.seq);
        await this.#confirmAck(msg);
        return;
      case "retry":
        this.#stats.retried++;
        msg.nak(Math.max(0, Math.round(settlement.delayMs)));
        return;
      case "dead-letter":
        try {
          await this.#dependencies.deadLetter(msg, settlement.reason, attempt);
        } catch (error) {
          // Not stored as a dead letter: keep it where it is, and try again shortly.
          this.#dependencies.log.warn("could not store a dead letter; retrying", {
            notifier: this.#notifier,
            error: (error as Error).message,
          });
          msg.nak(this.#dependencies.failedHandlerRetryMs);
          return;
        }
        this.#stats.deadLettered++;
        this.#remember(msg.seq);
        await this.#confirmAck(msg);
        return;
    }
  }

  /** Remembered before the ack is sent: a repeat can arrive as soon as the server has the ack. */
  #remember(streamSequence: number): void {
    this.#settled.add(streamSequence);
    if (this.#settled.size > SETTLED_MEMORY) {
      const oldest = this.#settled.values().next().value;
      if (oldest !== undefined) this.#settled.delete(oldest);
    }
  }

  /** An ack the server never got means one more delivery later; say so, since the platform already has it. */
  async #confirmAck(msg: JsMsg): Promise<void> {
    try {
      await msg.ackAck({ timeout: API_TIMEOUT_MS });
    } catch (error) {
      this.#dependencies.log.warn("the event bus did not confirm an ack; the event may be delivered again", {
        notifier: this.#notifier,
        streamSequence: msg.seq,
        error: (error as Error).message,
      });
    }
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#cancelPause = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#cancelPause = done;
    });
  }
}

async function ensureStreams(jsm: JetStreamManager, settings: Settings, log: Logger): Promise<void> {
  const streams: (Partial<StreamConfig> & { name: string })[] = [
    {
      name: settings.stream,
      description: "Patchbay events, one subject per source",
      subjects: [`${settings.subjectPrefix}.>`],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      num_replicas: settings.replicas,
      max_age: nanos(settings.maxAgeMs),
      max_bytes: settings.maxBytes,
      duplicate_window: nanos(settings.duplicateWindowMs),
    },
    {
      name: settings.deadLetterStream,
      description: "Patchbay dead letters, one subject per notifier",
      subjects: [`${settings.deadLetterSubjectPrefix}.>`],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      num_replicas: settings.replicas,
      max_age: nanos(settings.deadLetterMaxAgeMs),
      max_bytes: settings.deadLetterMaxBytes,
      duplicate_window: nanos(Math.min(settings.duplicateWindowMs, settings.deadLetterMaxAgeMs)),
    },
  ];
  const deadline = Date.now() + settings.setupTimeoutMs;
  for (const config of streams) {
    for (let attempt = 1; ; attempt++) {
      try {
        await ensureStream(jsm, config);
        break;
      } catch (error) {
        // A cluster that has just started has no meta leader yet, or too few peers for the replicas.
        if (Date.now() + 500 > deadline) throw error;
        if (attempt === 1 || attempt % 10 === 0)
          log.info("the event bus is not ready to create its stream yet; retrying", {
            stream: config.name,
            error: (error as Error).message,
          });
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }
}

async function ensureStream(
  jsm: JetStreamManager,
  config: Partial<StreamConfig> & { name: string },
): Promise<void> {
  const name = config.name;
  let current;
  try {
    current = (await jsm.streams.info(name)).config;
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)) throw error;
    await jsm.streams.add(config);
    return;
  }
  const changed =
    current.num_replicas !== config.num_replicas ||
    current.max_age !== config.max_age ||
    current.max_bytes !== config.max_bytes ||
    current.duplicate_window !== config.duplicate_window;
  if (changed) {
    await jsm.streams.update(name, {
      num_replicas: config.num_replicas,
      max_age: config.max_age,
      max_bytes: config.max_bytes,
      duplicate_window: config.duplicate_window,
    });
  }
}

/** Waits for `promise` at most `ms`; its failure is ignored (the caller goes on either way). */
async function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.catch(() => undefined),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
  ]);
  clearTimeout(timer);
}

function consumerName(notifier: string): string {
  return `notifier-${nameToken(notifier)}`;
}

function parseEvent(data: Uint8Array): CloudEvent | undefined {
  try {
    const event = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8"));
    return typeof event === "object" && event !== null && typeof event.id === "string" ? event : undefined;
  } catch {
    return undefined;
  }
}

/** A dead letter whose payload is not a CloudEvent still shows, with its bytes as text. */
function unreadableEvent(data: Uint8Array): CloudEvent {
  return {
    specversion: "1.0",
    id: "",
    source: "",
    type: "dev.patchbay.unreadable",
    time: new Date(0).toISOString(),
    data: Buffer.from(data).toString("utf8"),
  };
}

function withoutCredentials(server: string): string {
  try {
    const url = new URL(server.includes("://") ? server : `nats://${server}`);
    url.username = "";
    url.password = "";
    return url.toString().replace(/\/$/, "");
  } catch {
    return server.replace(/^[^/]*\/\/[^@]*@/, "");
  }
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
