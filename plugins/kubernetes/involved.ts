/**
 * The annotations of an Event's involved object, so that an object's opt-out annotation also silences
 * its Events (which never carry it themselves). From an informer cache when the plugin already watches
 * that object's type (no API call, always current); otherwise one GET, remembered for a minute in a
 * small bounded cache shared by every stream of the process.
 */
import type { V1ObjectReference } from "@kubernetes/client-node";
import { getJson, type InformerLog, type SharedInformers } from "./informers.ts";

export type Annotations = Record<string, string>;

// A GET answer is trusted this long: an opt-out annotation added to an unwatched object takes effect
// within it.
const TTL_MS = 60_000;
const MAX_OBJECTS = 500;
// Discovery (kind -> resource) changes only when CRDs do.
const DISCOVERY_TTL_MS = 10 * 60_000;
const GET_TIMEOUT_MS = 5_000;
// After a failure that is not about the object itself (timeout, 5xx), Events are reported without
// asking for a while rather than each waiting for the API server.
const PAUSE_AFTER_FAILURE_MS = 10_000;

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

interface Remembered<T> {
  expiresAt: number;
  value: Promise<T>;
}

export class InvolvedObjects {
  readonly #informers: SharedInformers;
  readonly #log: InformerLog;
  readonly #objects = new Map<string, Remembered<Annotations | undefined>>();
  readonly #discovery = new Map<string, Remembered<ApiResource[]>>();
  readonly #warned = new Set<string>();
  #pausedUntil = 0;

  constructor(informers: SharedInformers, log: InformerLog) {
    this.#informers = informers;
    this.#log = log;
  }

  /**
   * The involved object's annotations; undefined when they cannot be known (no such object any more,
   * another object by that name, no permission, the API server failing). Never rejects.
   */
  async annotationsOf(ref: V1ObjectReference | undefined): Promise<Annotations | undefined> {
    if (!ref) return undefined;
    if (ref.uid) {
      const cached = this.#informers.cached(ref.uid);
      if (cached) return cached.metadata?.annotations ?? {};
    }
    const { apiVersion, kind, name } = ref;
    if (!apiVersion || !kind || !name) return undefined;
    const key = [apiVersion, kind, ref.namespace ?? "", name, ref.uid ?? ""].join("/");
    const now = Date.now();
    const remembered = this.#objects.get(key);
    if (remembered && remembered.expiresAt > now) return remembered.value;
    if (now < this.#pausedUntil) return undefined;
    const entry: Remembered<Annotations | undefined> = {
      expiresAt: now + TTL_MS,
      value: this.#fetch(ref).catch((err: unknown) => this.#failed(key, entry, ref, err)),
    };
    remember(this.#objects, key, entry, MAX_OBJECTS);
    return entry.value;
  }

  async #fetch(ref: V1ObjectReference): Promise<Annotations | undefined> {
    const { group, version } = splitApiVersion(ref.apiVersion!);
    const resource = (await this.#resources(group, version)).find((r) => r.kind === ref.kind);
    if (!resource) return undefined; // a kind this server does not serve
    if (resource.namespaced && !ref.namespace) return undefined;
    const base = group === "" ? `/api/${version}` : `/apis/${group}/${version}`;
    const scope = resource.namespaced ? `/namespaces/${encodeURIComponent(ref.namespace!)}` : "";
    const object = await getJson<{ metadata?: { uid?: string; annotations?: Annotations } }>(
      this.#informers.kubeConfig(),
      `${base}${scope}/${resource.name}/${encodeURIComponent(ref.name!)}`,
      GET_TIMEOUT_MS,
    );
    // Same name, another object (deleted and re-created): its annotations say nothing of this one.
    if (ref.uid && object.metadata?.uid !== ref.uid) return undefined;
    return object.metadata?.annotations ?? {};
  }

  async #resources(group: string, version: string): Promise<ApiResource[]> {
    const key = `${group}/${version}`;
    const remembered = this.#discovery.get(key);
    if (remembered && remembered.expiresAt > Date.now()) return remembered.value;
    const path = group === "" ? `/api/${version}` : `/apis/${group}/${version}`;
    const entry: Remembered<ApiResource[]> = {
      expiresAt: Date.now() + DISCOVERY_TTL_MS,
      value: getJson<{ resources?: ApiResource[] }>(this.#informers.kubeConfig(), path, GET_TIMEOUT_MS).then(
        (list) => (list.resources ?? []).filter((r) => !r.name.includes("/")), // not subresources
      ),
    };
    entry.value.catch(() => {
      if (this.#discovery.get(key) === entry) this.#discovery.delete(key);
    });
    remember(this.#discovery, key, entry, MAX_OBJECTS);
    return entry.value;
  }

  #failed(
    key: string,
    entry: Remembered<Annotations | undefined>,
    ref: V1ObjectReference,
    err: unknown,
  ): undefined {
    const status = (err as { statusCode?: number }).statusCode;
    if (status === 404) return undefined; // gone: remembered, nothing to honour
    if (status === 401 || status === 403) {
      // Remembered for the TTL: asking again soon would get the same answer.
      const what = `${ref.kind} (${ref.apiVersion})`;
      if (!this.#warned.has(what)) {
        this.#warned.add(what);
        this.#log.warn("cannot read the objects Events are about to check their opt-out annotation", {
          kind: what,
          error: (err as Error).message,
        });
      }
      return undefined;
    }
    if (this.#objects.get(key) === entry) this.#objects.delete(key);
    this.#pausedUntil = Date.now() + PAUSE_AFTER_FAILURE_MS;
    this.#log.warn("looking up an Event's involved object failed; reporting Events without it for a while", {
      object: `${ref.namespace ?? ""}/${ref.kind}/${ref.name}`,
      error: (err as Error)?.message ?? String(err),
      pauseMs: PAUSE_AFTER_FAILURE_MS,
    });
    return undefined;
  }
}

function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf("/");
  return slash < 0
    ? { group: "", version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** Adds an entry, first dropping expired ones and then the oldest while the map is full. */
function remember<T>(
  map: Map<string, Remembered<T>>,
  key: string,
  entry: Remembered<T>,
  limit: number,
): void {
  map.delete(key);
  if (map.size >= limit) {
    const now = Date.now();
    for (const [k, v] of map) if (v.expiresAt <= now) map.delete(k);
    for (const k of map.keys()) {
      if (map.size < limit) break;
      map.delete(k);
    }
  }
  map.set(key, entry);
}
