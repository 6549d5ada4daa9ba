/**
 * In-memory object storage with one global, monotonically increasing resourceVersion (like etcd's
 * revision) and a bounded event history that watches replay from. Knows nothing of API
 * semantics; operations.ts decides what to write.
 */

import type { KubeObject } from "./objects.ts";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface StoreEvent {
  rv: number;
  type: WatchEventType;
  storage: string;
  object: KubeObject;
  /** The object before a MODIFIED or DELETED event, so selector watches can tell enter from leave. */
  previous?: KubeObject;
}

export type StoreListener = (event: StoreEvent) => void;

function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ""}/${name}`;
}

export class ObjectStore {
  private revision = 0;
  private readonly data = new Map<string, Map<string, KubeObject>>();
  private readonly uids = new Map<string, KubeObject>();
  private history: StoreEvent[] = [];
  /** Watches from a resourceVersion below this get 410; it moves as history is trimmed. */
  private floor = 0;
  private readonly listeners = new Set<StoreListener>();
  private readonly historyLimit: number;

  constructor(historyLimit: number) {
    this.historyLimit = historyLimit;
  }

  currentRevision(): number {
    return this.revision;
  }

  oldestWatchable(): number {
    return this.floor;
  }

  get(storage: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.data.get(storage)?.get(objectKey(namespace, name));
  }

  getByUid(uid: string): KubeObject | undefined {
    return this.uids.get(uid);
  }

  /** Objects in key order (namespace, then name), as etcd returns them. */
  list(storage: string, namespace?: string): KubeObject[] {
    const objects = [...(this.data.get(storage)?.entries() ?? [])]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, obj]) => obj);
    return namespace === undefined ? objects : objects.filter((o) => o.metadata.namespace === namespace);
  }

  storages(): string[] {
    return [...this.data.keys()];
  }

  /** Stores a create or update, stamping the next resourceVersion. The object must not be shared. */
  put(storage: string, obj: KubeObject): KubeObject {
    const name = obj.metadata.name ?? "";
    const objects = this.data.get(storage) ?? new Map<string, KubeObject>();
    this.data.set(storage, objects);
    const key = objectKey(obj.metadata.namespace, name);
    const previous = objects.get(key);
    obj.metadata.resourceVersion = String(++this.revision);
    objects.set(key, obj);
    if (obj.metadata.uid) this.uids.set(obj.metadata.uid, obj);
    this.record({ rv: this.revision, type: previous ? "MODIFIED" : "ADDED", storage, object: obj, previous });
    return obj;
  }

  /**
   * Removes an object. `finalState` is what the DELETED event shows (an update that drops the last
   * finalizer deletes with that update applied); it carries the deletion's resourceVersion, as
   * etcd's events do.
   */
  remove(storage: string, finalState: KubeObject): KubeObject | undefined {
    const key = objectKey(finalState.metadata.namespace, finalState.metadata.name ?? "");
    const objects = this.data.get(storage);
    const previous = objects?.get(key);
    if (!objects || !previous) return undefined;
    objects.delete(key);
    if (previous.metadata.uid) this.uids.delete(previous.metadata.uid);
    const deleted: KubeObject = {
      ...finalState,
      metadata: { ...finalState.metadata, resourceVersion: String(++this.revision) },
    };
    this.record({ rv: this.revision, type: "DELETED", storage, object: deleted, previous });
    return deleted;
  }

  private record(event: StoreEvent): void {
    this.history.push(event);
    if (this.history.length > this.historyLimit) {
      const dropped = this.history.splice(0, this.history.length - this.historyLimit);
      this.floor = dropped[dropped.length - 1]?.rv ?? this.floor;
    }
    for (const listener of [...this.listeners]) listener(event);
  }

  /** Events after `rv`, or undefined when they are no longer retained (the caller answers 410). */
  eventsSince(rv: number): StoreEvent[] | undefined {
    if (rv < this.floor) return undefined;
    return this.history.filter((e) => e.rv > rv);
  }

  /** Forgets all history: a watch from any resourceVersion before now gets 410 Gone. */
  compact(): void {
    this.history = [];
    this.floor = this.revision;
  }

  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
