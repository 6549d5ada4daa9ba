/**
 * kubernetes: Kubernetes Events and create/update/delete of chosen resource types, filtered per stream,
 * from one shared informer per resource type for the whole process.
 */
import type { CoreV1Event, KubernetesObject } from "@kubernetes/client-node";
import { serveSource, type SourceEvent, type StreamContext } from "@patchbay/sdk";
import { configSchema, type KubernetesConfig, type WatchedResource } from "./config.ts";
import { changeEvent, diffObjects, kubernetesEvent, summarizeChanges, touches } from "./events.ts";
import { anchored, namespaceFilter, objectFilter } from "./filters.ts";
import { SharedInformers, type Change } from "./informers.ts";
import { InvolvedObjects } from "./involved.ts";

// A stream whose host falls behind keeps at most this many events, dropping the oldest.
const MAX_QUEUED = 1000;
const EVENTS: WatchedResource = {
  group: "",
  version: "v1",
  resource: "events",
  actions: ["create", "update"],
  updateFields: [],
};
const ACTIONS = { created: "create", updated: "update", deleted: "delete" } as const;

let informers: SharedInformers | undefined;
let involvedObjects: InvolvedObjects | undefined;

await serveSource<KubernetesConfig>({
  name: "kubernetes",
  version: "1.0.0",
  description: "Kubernetes Events and resource changes, filtered by namespace, kind, type, reason, labels.",
  configSchema,
  stream: (ctx) => streamChanges(ctx),
});

async function* streamChanges(ctx: StreamContext<KubernetesConfig>): AsyncGenerator<SourceEvent> {
  const { config, signal, log } = ctx;
  informers ??= new SharedInformers(log);
  const involved = (involvedObjects ??= new InvolvedObjects(informers, log));
  const queue = new EventQueue(MAX_QUEUED, signal, () =>
    log.warn("host is behind; dropped the oldest event"),
  );
  const inNamespace = namespaceFilter(config.namespaces);
  let selectObject;
  try {
    selectObject = objectFilter(config);
  } catch (err) {
    throw Object.assign(new Error(`invalid config: ${(err as Error).message}`), {
      code: 3 /* INVALID_ARGUMENT */,
    });
  }
  const unsubscribes: (() => void)[] = [];
  if (config.events.enabled) {
    const selectEvent = eventFilter(config);
    // An Event is reported unless its involved object opted out, which may take a GET: Events wait
    // for that in order, at most MAX_QUEUED of them.
    let lookups = Promise.resolve();
    let waiting = 0;
    unsubscribes.push(
      informers.subscribe(EVENTS, (change) => {
        if (change.action === "deleted") return; // Events expire; their deletion is not news.
        const event = change.object as CoreV1Event;
        if (!inNamespace(event.metadata?.namespace) || !selectEvent(event)) return;
        if (waiting >= MAX_QUEUED) {
          log.warn("involved-object lookups are behind; dropped an event");
          return;
        }
        waiting++;
        lookups = lookups.then(async () => {
          const annotations = await involved.annotationsOf(event.involvedObject).catch(() => undefined);
          waiting--;
          if (annotations?.[config.ignoreAnnotation] !== "true") queue.push(kubernetesEvent(event));
        });
      }),
    );
  }
  for (const resource of config.resources) {
    unsubscribes.push(
      informers.subscribe(resource, (change) => {
        if (!resource.actions.includes(ACTIONS[change.action])) return;
        if (!inNamespace(change.object.metadata?.namespace) || !selectObject(change.object)) return;
        const event = toChangeEvent(change, resource);
        if (event) queue.push(event);
      }),
    );
  }
  try {
    yield* queue;
  } finally {
    for (const unsubscribe of unsubscribes) unsubscribe();
  }
}

function eventFilter(config: KubernetesConfig): (event: CoreV1Event) => boolean {
  const { types, kinds, reasons, messages } = config.events;
  const reasonPatterns = anchored(reasons);
  const messagePatterns = messages.map((pattern) => new RegExp(pattern));
  const selectObject = objectFilter({ ...config, labelSelector: "", annotations: {} });
  return (event) =>
    types.includes(event.type as "Normal" | "Warning") &&
    (kinds.length === 0 || kinds.includes(event.involvedObject?.kind ?? "")) &&
    (reasonPatterns.length === 0 || reasonPatterns.some((r) => r.test(event.reason ?? ""))) &&
    (messagePatterns.length === 0 || messagePatterns.some((r) => r.test(event.message ?? ""))) &&
    selectObject(event as KubernetesObject);
}

function toChangeEvent(change: Change, resource: WatchedResource): SourceEvent | undefined {
  if (change.action !== "updated") return changeEvent(change, undefined);
  // Relevance is decided on the whole diff; only what is shown is capped.
  const changes = diffObjects(change.previous, change.object);
  const relevant = touches(resource.updateFields, change.previous, change.object);
  return changes.some(relevant) ? changeEvent(change, summarizeChanges(changes, relevant)) : undefined;
}

/** Events waiting for the host: bounded, drop-oldest, ends when the stream is aborted. */
class EventQueue implements AsyncIterable<SourceEvent> {
  readonly #items: SourceEvent[] = [];
  readonly #limit: number;
  readonly #signal: AbortSignal;
  readonly #onDrop: () => void;
  #wake: (() => void) | undefined;

  constructor(limit: number, signal: AbortSignal, onDrop: () => void) {
    this.#limit = limit;
    this.#signal = signal;
    this.#onDrop = onDrop;
    signal.addEventListener("abort", () => this.#wake?.(), { once: true });
  }

  push(event: SourceEvent): void {
    if (this.#items.length >= this.#limit) {
      this.#items.shift();
      this.#onDrop();
    }
    this.#items.push(event);
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<SourceEvent> {
    while (!this.#signal.aborted) {
      const next = this.#items.shift();
      if (next) {
        yield next;
        continue;
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }
}
