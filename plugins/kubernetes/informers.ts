/**
 * One shared informer per resource type for the whole process, however many streams and filters use
 * it: Botkube's agent grew to 504 MiB with 12 sources before it shared them. client-node informers
 * stop for good on an error, so each one is restarted with backoff until nobody needs it.
 */
import * as http from "node:http";
import * as https from "node:https";
import {
  KubeConfig,
  makeInformer,
  type Informer,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
} from "@kubernetes/client-node";

export interface ResourceType {
  /** "" for the core group. */
  group: string;
  version: string;
  /** Plural, lower case, as in the API path: "deployments". */
  resource: string;
}

export type Change =
  | { action: "created"; object: KubernetesObject }
  | { action: "updated"; object: KubernetesObject; previous: KubernetesObject }
  | { action: "deleted"; object: KubernetesObject };

export type ChangeHandler = (change: Change) => void;

export interface InformerLog {
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
}

const RESTART_BASE_MS = 250;
const RESTART_MAX_MS = 30_000;

export function resourcePath({ group, version, resource }: ResourceType): string {
  return group === "" ? `/api/${version}/${resource}` : `/apis/${group}/${version}/${resource}`;
}

class SharedInformer {
  readonly #handlers = new Set<ChangeHandler>();
  // The last version seen of each object, to tell creations from re-lists and to diff updates.
  readonly #previous = new Map<string, KubernetesObject>();
  readonly #informer: Informer<KubernetesObject> & ObjectCache<KubernetesObject>;
  readonly #path: string;
  readonly #log: InformerLog;
  #listed = false;
  #stopped = false;
  #restartDelayMs = RESTART_BASE_MS;
  #restartTimer: NodeJS.Timeout | undefined;

  constructor(kubeConfig: KubeConfig, type: ResourceType, log: InformerLog) {
    this.#path = resourcePath(type);
    this.#log = log;
    this.#informer = makeInformer(kubeConfig, this.#path, () => this.#list(kubeConfig));
    this.#informer.on("add", (object) => this.#onAddOrUpdate(object));
    this.#informer.on("update", (object) => this.#onAddOrUpdate(object));
    this.#informer.on("delete", (object) => this.#onDelete(object));
    this.#informer.on("error", (err) => this.#restartLater(err));
    void this.#informer.start().catch((err: unknown) => this.#restartLater(err));
  }

  subscribe(handler: ChangeHandler): () => boolean {
    this.#handlers.add(handler);
    return () => {
      this.#handlers.delete(handler);
      return this.#handlers.size === 0;
    };
  }

  /** The last version seen of the object with this uid, if this informer has it. */
  cached(uid: string): KubernetesObject | undefined {
    return this.#previous.get(uid);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#restartTimer);
    void this.#informer.stop();
  }

  async #list(kubeConfig: KubeConfig): Promise<KubernetesListObject<KubernetesObject>> {
    const list = await getJson<KubernetesListObject<KubernetesObject>>(kubeConfig, this.#path);
    this.#restartDelayMs = RESTART_BASE_MS;
    // What exists at the first list is the starting point, not news: remember it without announcing it.
    if (!this.#listed) {
      for (const object of list.items ?? []) this.#previous.set(keyOf(object), object);
      this.#listed = true;
    }
    return list;
  }

  #onAddOrUpdate(object: KubernetesObject): void {
    const key = keyOf(object);
    const previous = this.#previous.get(key);
    this.#previous.set(key, object);
    if (!previous) this.#emit({ action: "created", object });
    else if (previous.metadata?.resourceVersion !== object.metadata?.resourceVersion) {
      this.#emit({ action: "updated", object, previous });
    }
  }

  #onDelete(object: KubernetesObject): void {
    this.#previous.delete(keyOf(object));
    this.#emit({ action: "deleted", object });
  }

  #emit(change: Change): void {
    this.#restartDelayMs = RESTART_BASE_MS;
    for (const handler of this.#handlers) handler(change);
  }

  #restartLater(err: unknown): void {
    if (this.#stopped) return;
    const delayMs = this.#restartDelayMs;
    this.#restartDelayMs = Math.min(delayMs * 2, RESTART_MAX_MS);
    this.#log.warn("informer stopped on an error; restarting", {
      path: this.#path,
      error: (err as Error)?.message ?? String(err),
      delayMs,
    });
    clearTimeout(this.#restartTimer);
    this.#restartTimer = setTimeout(() => {
      if (!this.#stopped) void this.#informer.start().catch((e: unknown) => this.#restartLater(e));
    }, delayMs);
  }
}

/** The process-wide registry: streams subscribe to a resource type, the last one out stops it. */
export class SharedInformers {
  readonly #informers = new Map<string, SharedInformer>();
  readonly #log: InformerLog;
  #kubeConfig: KubeConfig | undefined;

  constructor(log: InformerLog) {
    this.#log = log;
  }

  /** Number of informers running, one per resource type in use. */
  get size(): number {
    return this.#informers.size;
  }

  /** The object with this uid from any running informer's cache, without an API call. */
  cached(uid: string): KubernetesObject | undefined {
    for (const informer of this.#informers.values()) {
      const object = informer.cached(uid);
      if (object) return object;
    }
    return undefined;
  }

  subscribe(type: ResourceType, handler: ChangeHandler): () => void {
    const key = resourcePath(type);
    let informer = this.#informers.get(key);
    if (!informer) {
      informer = new SharedInformer(this.#config(), type, this.#log);
      this.#informers.set(key, informer);
      this.#log.info("informer started", { path: key });
    }
    const unsubscribe = informer.subscribe(handler);
    return () => {
      if (unsubscribe() && this.#informers.get(key) === informer) {
        informer.stop();
        this.#informers.delete(key);
        this.#log.info("informer stopped", { path: key });
      }
    };
  }

  /** KUBECONFIG, then ~/.kube/config, then the in-cluster ServiceAccount; loaded once. */
  kubeConfig(): KubeConfig {
    return this.#config();
  }

  #config(): KubeConfig {
    if (!this.#kubeConfig) {
      // KUBECONFIG, then ~/.kube/config, then the in-cluster ServiceAccount.
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromDefault();
      this.#kubeConfig = kubeConfig;
    }
    return this.#kubeConfig;
  }
}

function keyOf(object: KubernetesObject): string {
  return object.metadata?.uid ?? `${object.metadata?.namespace ?? ""}/${object.metadata?.name ?? ""}`;
}

/** A GET with the kubeconfig's credentials (client-node applies certificates and tokens). */
export async function getJson<T>(kubeConfig: KubeConfig, path: string, timeoutMs = 30_000): Promise<T> {
  const server = kubeConfig.getCurrentCluster()?.server;
  if (!server) throw new Error("the kubeconfig has no current cluster");
  const url = new URL(server.replace(/\/$/, "") + path);
  const options: https.RequestOptions = { method: "GET", headers: { accept: "application/json" } };
  await kubeConfig.applyToHTTPSOptions(options);
  const transport = url.protocol === "https:" ? https : http;
  return new Promise<T>((resolve, reject) => {
    const request = transport.request(url, options, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("error", reject);
      response.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        if (response.statusCode !== 200) {
          const error = Object.assign(
            new Error(`GET ${path}: HTTP ${response.statusCode}: ${body.slice(0, 300)}`),
            {
              statusCode: response.statusCode,
            },
          );
          reject(error);
          return;
        }
        try {
          resolve(JSON.parse(body) as T);
        } catch (err) {
          reject(new Error(`GET ${path}: response is not JSON: ${(err as Error).message}`));
        }
      });
    });
    request.setTimeout(timeoutMs, () => request.destroy(new Error(`GET ${path}: timed out`)));
    request.on("error", reject);
    request.end();
  });
}
