/**
 * A Kubernetes API server TEST DOUBLE: an in-memory, single-process imitation of kube-apiserver
 * speaking its REST and watch protocol over plain HTTP on 127.0.0.1, for tests that run the real
 * @kubernetes/client-node and kubectl. It is not a Kubernetes implementation: no controllers,
 * no auth, no admission webhooks, approximated patch/apply semantics (see README.md).
 */

import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { builtinResources } from "./builtins.ts";
import { ApiError } from "./errors.ts";
import { FaultInjector } from "./faults.ts";
import { forbiddenFor } from "./impersonation.ts";
import type { FaultRule, InjectedFault, RequestLogEntry } from "./faults.ts";
import { sendError } from "./http-io.ts";
import { makeKubeConfig, writeKubeconfigFile } from "./kubeconfig.ts";
import type { ClientConfigOptions } from "./kubeconfig.ts";
import { isObject, splitApiVersion, toJson } from "./objects.ts";
import type { KubeObject, KubeObjectInput } from "./objects.ts";
import { Operations, patchTypes } from "./operations.ts";
import type { DeleteOptions } from "./operations.ts";
import { ResourceRegistry } from "./registry.ts";
import type { ResourceType } from "./registry.ts";
import { Router } from "./router.ts";
import { parseFieldSelector, parseLabelSelector } from "./selectors.ts";
import { ObjectStore } from "./store.ts";
import { WatchHub } from "./watch.ts";

export interface KubeApiDoubleOptions {
  /** Default 0 (an ephemeral port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Watch events retained for resuming watches (default 1000); older resourceVersions get 410. */
  historyLimit?: number;
  /** Namespaces that exist at start. Default: default, kube-system, kube-public, kube-node-lease. */
  namespaces?: string[];
  /** CRDs to serve from the start: objects, or paths of YAML files (multi-document allowed). */
  crds?: (KubeObjectInput | string)[];
  /** Interval of BOOKMARK events on watches that allow them (default 1000 ms). */
  bookmarkIntervalMs?: number;
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  /** For namespaced kinds; default "default". */
  namespace?: string;
}

export interface ListQuery {
  apiVersion: string;
  kind: string;
  /** Omit for all namespaces. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  what?: string;
}

const defaultNamespaces = ["default", "kube-system", "kube-public", "kube-node-lease"];

export class KubeApiDouble {
  readonly url: string;
  readonly port: number;
  /** Every request received, oldest first (cleared by clearRequests). */
  readonly requests: RequestLogEntry[];
  private readonly ops: Operations;
  private readonly server: Server;
  private readonly watches: WatchHub;
  private readonly faults: FaultInjector;
  private readonly forbiddenUsers: Set<string>;
  private readonly tempDirs: string[] = [];

  /** Use startKubeApiDouble(). */
  constructor(parts: {
    server: Server;
    ops: Operations;
    watches: WatchHub;
    faults: FaultInjector;
    requests: RequestLogEntry[];
    forbiddenUsers: Set<string>;
  }) {
    this.server = parts.server;
    this.forbiddenUsers = parts.forbiddenUsers;
    this.requests = parts.requests;
    this.ops = parts.ops;
    this.watches = parts.watches;
    this.faults = parts.faults;
    const address = this.server.address() as AddressInfo;
    this.port = address.port;
    this.url = `http://${address.address}:${address.port}`;
  }

  async close(): Promise<void> {
    this.watches.dropAll();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.all(this.tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }

  // ---- client configuration --------------------------------------------------------------------

  /** A client-node KubeConfig for this double (plain HTTP, no credentials). */
  kubeConfig(options: ClientConfigOptions = {}): KubeConfig {
    return makeKubeConfig(this.url, options);
  }

  /** Writes a kubeconfig file for kubectl into `dir` (a temp dir removed on close by default); returns its path. */
  async writeKubeconfig(dir?: string, options: ClientConfigOptions = {}): Promise<string> {
    let target = dir;
    if (!target) {
      target = await mkdtemp(join(tmpdir(), "kube-api-double-"));
      this.tempDirs.push(target);
    }
    return writeKubeconfigFile(target, this.url, options);
  }

  // ---- programmatic store API (same semantics as HTTP, no HTTP) ----------------------------------

  /** Creates (or, if it exists, replaces) CRDs from objects or a YAML file path; they are served at once. */
  async registerCrd<T extends KubeObjectInput>(crd: T | string): Promise<KubeObject[]> {
    const documents = typeof crd === "string" ? await loadYamlObjects(crd) : [toJson<KubeObject>(crd)];
    return documents.map((doc) => {
      const existing = this.get({ ...refOf(doc), namespace: undefined });
      return existing
        ? this.update({
            ...doc,
            metadata: { ...doc.metadata, resourceVersion: existing.metadata.resourceVersion },
          })
        : this.create(doc);
    });
  }

  /** Creates an object; unlike an HTTP create, `status` is kept so tests can seed it. Throws ApiError. */
  create<T extends KubeObjectInput>(obj: T): KubeObject {
    const body = toJson<KubeObject>(obj);
    const rt = this.typeOf(body.apiVersion, body.kind);
    return this.ops.create(rt, namespaceOf(rt, body.metadata?.namespace), body, { keepStatus: true });
  }

  /** The object, or undefined when it does not exist. */
  get(ref: ObjectRef): KubeObject | undefined {
    const rt = this.typeOf(ref.apiVersion, ref.kind);
    const stored = this.ops.store.get(rt.storage, namespaceOf(rt, ref.namespace), ref.name);
    return stored ? this.ops.present(rt, stored) : undefined;
  }

  list(query: ListQuery): KubeObject[] {
    const rt = this.typeOf(query.apiVersion, query.kind);
    const labels = parseLabelSelector(query.labelSelector);
    const fields = parseFieldSelector(query.fieldSelector, rt.selectableFields);
    return this.ops.list(rt, query.namespace, { filter: (o) => labels(o) && fields(o) }).items;
  }

  /** Replaces an object (main resource: status is ignored if the type has a status subresource). */
  update<T extends KubeObjectInput>(obj: T): KubeObject {
    return this.write(obj, "");
  }

  /** Replaces only `status`, like PUT on the status subresource. */
  updateStatus<T extends KubeObjectInput>(obj: T): KubeObject {
    return this.write(obj, "status");
  }

  /** Patches an object: JSON merge patch by default; `json` takes an RFC 6902 operation list. */
  patch(
    ref: ObjectRef,
    patch: unknown,
    type: "merge" | "json" | "strategic" = "merge",
    subresource = "",
  ): KubeObject {
    const rt = this.typeOf(ref.apiVersion, ref.kind);
    return this.ops.patch(rt, namespaceOf(rt, ref.namespace), ref.name, patchTypes[type], patch, {
      subresource,
    });
  }

  /** Deletes like DELETE: with finalizers the object stays, marked with deletionTimestamp. Returns it. */
  delete(ref: ObjectRef, options: DeleteOptions = {}): KubeObject {
    const rt = this.typeOf(ref.apiVersion, ref.kind);
    return this.ops.delete(rt, namespaceOf(rt, ref.namespace), ref.name, options).object;
  }

  /** The current global resourceVersion. */
  resourceVersion(): string {
    return String(this.ops.store.currentRevision());
  }

  private write(obj: KubeObjectInput, subresource: string): KubeObject {
    const body = toJson<KubeObject>(obj);
    const rt = this.typeOf(body.apiVersion, body.kind);
    const name = body.metadata?.name ?? "";
    return this.ops.update(rt, namespaceOf(rt, body.metadata?.namespace), name, body, { subresource });
  }

  private typeOf(apiVersion: string | undefined, kind: string | undefined): ResourceType {
    const { group, version } = splitApiVersion(apiVersion ?? "");
    const rt = this.ops.registry.forKind(group, version, kind ?? "");
    if (!rt) throw new Error(`the double serves no ${kind} in ${apiVersion} (is its CRD registered?)`);
    return rt;
  }

  // ---- fault injection and observation ---------------------------------------------------------

  /** Abruptly destroys every open watch connection; returns how many there were. */
  dropWatches(): number {
    return this.watches.dropAll();
  }

  /** Ends every open watch cleanly (like a server-side watch timeout); returns how many there were. */
  endWatches(): number {
    return this.watches.endAll();
  }

  openWatches(): number {
    return this.watches.count();
  }

  /** Forgets watch history: the next watch from any earlier resourceVersion gets a 410 ERROR event. */
  compactHistory(): void {
    this.ops.store.compact();
  }

  /**
   * Refuses every resource request impersonating `user` (Impersonate-User) with the real server's 403,
   * as RBAC would refuse a user bound to no role; discovery stays open to them.
   */
  forbidImpersonatedUser(user: string): void {
    this.forbiddenUsers.add(user);
  }

  /** Answers the next `times` matching requests with an error Status instead of serving them. */
  failNext(rule: FaultRule): InjectedFault {
    return this.faults.add(rule);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  /** Polls `probe` until it returns something truthy, which is returned. */
  async waitFor<T>(
    probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
    { timeoutMs = 5000, intervalMs = 10, what = "condition" }: WaitOptions = {},
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value) return value;
      if (Date.now() > deadline) {
        throw new Error(`kube-api double: timed out after ${timeoutMs} ms waiting for ${what}`);
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}

function refOf(obj: KubeObject): ObjectRef {
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    name: obj.metadata?.name ?? "",
    namespace: obj.metadata?.namespace,
  };
}

function namespaceOf(rt: ResourceType, namespace: string | undefined): string | undefined {
  return rt.namespaced ? (namespace ?? "default") : undefined;
}

async function loadYamlObjects(path: string): Promise<KubeObject[]> {
  const text = await readFile(path, "utf8");
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as unknown)
    .filter(isObject)
    .map((doc) => doc as KubeObject);
}

function handler(
  router: Router,
  faults: FaultInjector,
  requests: RequestLogEntry[],
  forbiddenUsers: ReadonlySet<string>,
) {
  return (request: IncomingMessage, response: ServerResponse): void => {
    const target = request.url ?? "/";
    const queryStart = target.indexOf("?");
    const entry: RequestLogEntry = {
      method: request.method ?? "GET",
      path: queryStart < 0 ? target : target.slice(0, queryStart),
      query: queryStart < 0 ? "" : target.slice(queryStart),
      contentType: request.headers["content-type"],
      accept: request.headers.accept,
      userAgent: request.headers["user-agent"],
      headers: { ...request.headersDistinct } as Record<string, string[]>,
      watch: /[?&]watch=(true|1)(&|$)/.test(target),
    };
    requests.push(entry);
    const fault = faults.take(entry.method, target);
    if (fault) {
      entry.injected = true;
      const headers: Record<string, string> =
        fault.retryAfterSeconds !== undefined ? { "Retry-After": String(fault.retryAfterSeconds) } : {};
      request.resume();
      sendError(response, fault.error, headers);
      entry.status = response.statusCode;
      return;
    }
    const forbidden = forbiddenFor(forbiddenUsers, request, entry.path, entry.query);
    if (forbidden) {
      request.resume();
      sendError(response, forbidden);
      entry.status = response.statusCode;
      return;
    }
    router
      .handle(request, response)
      .catch((error: unknown) => {
        if (!(error instanceof ApiError)) console.error("kube-api double: internal error", error);
        request.resume();
        sendError(response, error);
      })
      .finally(() => {
        entry.status = response.statusCode;
      });
  };
}

/** Starts a double listening on 127.0.0.1 (ephemeral port unless given). */
export async function startKubeApiDouble(options: KubeApiDoubleOptions = {}): Promise<KubeApiDouble> {
  const registry = new ResourceRegistry();
  for (const rt of builtinResources()) registry.register(rt);
  const ops = new Operations(new ObjectStore(options.historyLimit ?? 1000), registry);
  const watches = new WatchHub(ops, options.bookmarkIntervalMs ?? 1000);
  const faults = new FaultInjector();
  const requests: RequestLogEntry[] = [];
  const forbiddenUsers = new Set<string>();
  let address = "";
  const router = new Router(ops, watches, () => address);
  const server = createServer(handler(router, faults, requests, forbiddenUsers));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const info = server.address() as AddressInfo;
  address = `${info.address}:${info.port}`;
  const double = new KubeApiDouble({ server, ops, watches, faults, requests, forbiddenUsers });
  for (const name of options.namespaces ?? defaultNamespaces) {
    double.create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
  }
  for (const crd of options.crds ?? []) await double.registerCrd(crd);
  return double;
}
