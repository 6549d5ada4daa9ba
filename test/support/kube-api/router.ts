/**
 * Maps Kubernetes REST paths and verbs onto operations: `/api/v1/...` and `/apis/<g>/<v>/...`,
 * namespaced and cluster-wide collections, objects, and the status subresource.
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import {
  apiGroupDocument,
  apiGroupList,
  apiResourceList,
  coreApiVersions,
  serverVersion,
} from "./discovery.ts";
import { badRequest, methodNotAllowed, notFoundPath } from "./errors.ts";
import { decodeBody, mediaType, readBody, sendJson } from "./http-io.ts";
import { isObject } from "./objects.ts";
import type { JsonObject, KubeObject } from "./objects.ts";
import type { DeleteOptions, ListResult, Operations } from "./operations.ts";
import { openApiV2, openApiV3Document, openApiV3Index } from "./openapi.ts";
import type { ResourceType } from "./registry.ts";
import { parseFieldSelector, parseLabelSelector } from "./selectors.ts";
import type { ObjectFilter } from "./selectors.ts";
import { toTable, wantsTable } from "./table.ts";
import type { WatchHub } from "./watch.ts";

interface ResourceRequest {
  rt: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

interface Context {
  request: IncomingMessage;
  response: ServerResponse;
  url: URL;
  query: URLSearchParams;
}

export class Router {
  private readonly ops: Operations;
  private readonly watches: WatchHub;
  private readonly serverAddress: () => string;

  constructor(ops: Operations, watches: WatchHub, serverAddress: () => string) {
    this.ops = ops;
    this.watches = watches;
    this.serverAddress = serverAddress;
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "http://double.invalid");
    const ctx: Context = { request, response, url, query: url.searchParams };
    const segments = url.pathname
      .split("/")
      .filter((s) => s !== "")
      .map(decodeURIComponent);
    if (this.serveNonResource(ctx, segments)) return;
    const parsed = this.parseResourcePath(segments);
    if (!parsed) throw notFoundPath();
    await this.serveResource(ctx, parsed);
  }

  /** Discovery, version, OpenAPI and health endpoints; returns false for resource paths. */
  private serveNonResource(ctx: Context, segments: string[]): boolean {
    const path = "/" + segments.join("/");
    const registry = this.ops.registry;
    let body: unknown;
    if (path === "/healthz" || path === "/livez" || path === "/readyz") {
      ctx.response.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" });
      ctx.response.end("ok");
      return true;
    }
    if (path === "/version") body = serverVersion;
    else if (path === "/api") body = coreApiVersions(this.serverAddress());
    else if (path === "/apis") body = apiGroupList(registry);
    else if (segments[0] === "api" && segments.length === 2)
      body = apiResourceList(registry, "", segments[1] ?? "");
    else if (segments[0] === "apis" && segments.length === 2)
      body = apiGroupDocument(registry, segments[1] ?? "");
    else if (segments[0] === "apis" && segments.length === 3) {
      body = apiResourceList(registry, segments[1] ?? "", segments[2] ?? "");
    } else if (path === "/openapi/v2") body = openApiV2(registry);
    else if (path === "/openapi/v3") body = openApiV3Index(registry);
    else if (segments[0] === "openapi" && segments[1] === "v3")
      body = openApiV3Document(registry, segments.slice(2));
    else if (segments[0] === "api" || segments[0] === "apis") return false;
    else throw notFoundPath();
    if (body === undefined) throw notFoundPath();
    if (ctx.request.method !== "GET" && ctx.request.method !== "HEAD") throw methodNotAllowed();
    sendJson(ctx.response, 200, body);
    return true;
  }

  private parseResourcePath(segments: string[]): ResourceRequest | undefined {
    let group: string;
    let version: string;
    let rest: string[];
    if (segments[0] === "api") {
      group = "";
      version = segments[1] ?? "";
      rest = segments.slice(2);
    } else {
      group = segments[1] ?? "";
      version = segments[2] ?? "";
      rest = segments.slice(3);
    }
    const registry = this.ops.registry;
    let namespace: string | undefined;
    if (
      rest[0] === "namespaces" &&
      rest.length >= 3 &&
      registry.lookup(group, version, rest[2] ?? "")?.namespaced
    ) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    if (rest.length === 0 || rest.length > 3) return undefined;
    const rt = registry.lookup(group, version, rest[0] ?? "");
    if (!rt) return undefined;
    const [, name, subresource] = rest;
    if (rt.namespaced && namespace === undefined && name !== undefined) return undefined;
    if (!rt.namespaced && namespace !== undefined) return undefined;
    if (subresource !== undefined && (subresource !== "status" || !rt.statusSubresource)) return undefined;
    return { rt, namespace, name, subresource };
  }

  private async serveResource(ctx: Context, target: ResourceRequest): Promise<void> {
    const method = ctx.request.method ?? "GET";
    const { rt, namespace, name, subresource } = target;
    if (name === undefined) {
      if (method === "GET") return this.serveCollectionRead(ctx, target);
      // The all-namespaces path of a namespaced resource only lists and watches.
      if (rt.namespaced && namespace === undefined) throw methodNotAllowed();
      if (method === "POST") {
        const created = this.ops.create(rt, namespace, await this.body(ctx), this.writeOptions(ctx));
        return this.created(ctx, rt, created);
      }
      if (method === "DELETE") return this.deleteCollection(ctx, target);
      throw methodNotAllowed();
    }
    const updateOptions = { ...this.writeOptions(ctx), subresource: subresource ?? "" };
    switch (method) {
      case "GET":
        if (isWatch(ctx)) {
          return this.watch(ctx, { ...target, name: undefined }, this.nameFilter(name));
        }
        return this.respondObject(ctx, rt, this.ops.get(rt, namespace, name));
      case "PUT":
        return this.respondObject(
          ctx,
          rt,
          this.ops.update(rt, namespace, name, await this.body(ctx), updateOptions),
        );
      case "PATCH": {
        const contentType = ctx.request.headers["content-type"] ?? "";
        const text = await readBody(ctx.request);
        const patchBody = decodeBody(
          text,
          mediaType(contentType).endsWith("yaml") ? "application/yaml" : "application/json",
        );
        const existed = this.exists(rt, namespace, name);
        const result = this.ops.patch(rt, namespace, name, contentType, patchBody, {
          ...updateOptions,
          fieldManager: ctx.query.get("fieldManager") ?? undefined,
          force: ctx.query.get("force") === "true",
        });
        return existed ? this.respondObject(ctx, rt, result) : this.created(ctx, rt, result);
      }
      case "DELETE":
        return this.deleteOne(ctx, rt, namespace, name);
      default:
        throw methodNotAllowed();
    }
  }

  private exists(rt: ResourceType, namespace: string | undefined, name: string): boolean {
    return this.ops.store.get(rt.storage, rt.namespaced ? namespace : undefined, name) !== undefined;
  }

  private async body(ctx: Context): Promise<unknown> {
    return decodeBody(await readBody(ctx.request), ctx.request.headers["content-type"]);
  }

  private writeOptions(ctx: Context): { dryRun: boolean } {
    return { dryRun: ctx.query.getAll("dryRun").includes("All") };
  }

  private filterFrom(ctx: Context, rt: ResourceType): ObjectFilter {
    const labels = parseLabelSelector(ctx.query.get("labelSelector"));
    const fields = parseFieldSelector(ctx.query.get("fieldSelector"), rt.selectableFields);
    return (obj) => labels(obj) && fields(obj);
  }

  private nameFilter(name: string): ObjectFilter {
    return (obj) => obj.metadata.name === name;
  }

  private serveCollectionRead(ctx: Context, target: ResourceRequest): void {
    const filter = this.filterFrom(ctx, target.rt);
    if (isWatch(ctx)) return this.watch(ctx, target, filter);
    const limit = Number(ctx.query.get("limit") ?? "0");
    const result = this.ops.list(target.rt, target.namespace, {
      filter,
      limit: Number.isInteger(limit) && limit > 0 ? limit : undefined,
      continueToken: ctx.query.get("continue") ?? undefined,
    });
    this.respondList(ctx, target.rt, result);
  }

  private watch(ctx: Context, target: ResourceRequest, filter: ObjectFilter): void {
    const timeout = ctx.query.get("timeoutSeconds");
    const timeoutSeconds = timeout === null ? undefined : Number(timeout);
    if (timeoutSeconds !== undefined && !(timeoutSeconds >= 0)) {
      throw badRequest(`invalid timeoutSeconds "${timeout}"`);
    }
    const accept = ctx.request.headers.accept;
    this.watches.serve(ctx.request, ctx.response, {
      rt: target.rt,
      namespace: target.namespace,
      filter,
      resourceVersion: ctx.query.get("resourceVersion"),
      timeoutSeconds,
      allowBookmarks: ctx.query.get("allowWatchBookmarks") === "true",
      sendInitialEvents: ctx.query.get("sendInitialEvents") === "true",
      table: wantsTable(accept) ? { includeObject: ctx.query.get("includeObject") } : undefined,
    });
  }

  private respondList(ctx: Context, rt: ResourceType, result: ListResult): void {
    if (wantsTable(ctx.request.headers.accept)) {
      const table = toTable(rt, result.items, {
        resourceVersion: result.resourceVersion,
        includeObject: ctx.query.get("includeObject"),
        continueToken: result.continueToken,
      });
      return sendJson(ctx.response, 200, table);
    }
    const metadata: JsonObject = { resourceVersion: result.resourceVersion };
    if (result.continueToken) metadata.continue = result.continueToken;
    if (result.remainingItemCount !== undefined) metadata.remainingItemCount = result.remainingItemCount;
    sendJson(ctx.response, 200, {
      kind: rt.listKind,
      apiVersion: rt.group ? `${rt.group}/${rt.version}` : rt.version,
      metadata,
      items: result.items,
    });
  }

  private respondObject(ctx: Context, rt: ResourceType, obj: KubeObject, code = 200): void {
    if (wantsTable(ctx.request.headers.accept)) {
      const table = toTable(rt, [obj], {
        resourceVersion: obj.metadata.resourceVersion ?? "",
        includeObject: ctx.query.get("includeObject"),
      });
      return sendJson(ctx.response, code, table);
    }
    sendJson(ctx.response, code, obj);
  }

  private created(ctx: Context, rt: ResourceType, obj: KubeObject): void {
    this.respondObject(ctx, rt, obj, ctx.query.getAll("dryRun").includes("All") ? 200 : 201);
  }

  private async deleteOptions(ctx: Context): Promise<DeleteOptions> {
    const body = decodeBody(await readBody(ctx.request), "application/json", true);
    const fromBody = isObject(body) ? body : {};
    const options: DeleteOptions = {
      dryRun: ctx.query.getAll("dryRun").includes("All") || isDryRun(fromBody.dryRun),
    };
    const policy = ctx.query.get("propagationPolicy") ?? fromBody.propagationPolicy;
    if (typeof policy === "string") options.propagationPolicy = policy;
    if (fromBody.orphanDependents === true) options.propagationPolicy = "Orphan";
    if (isObject(fromBody.preconditions)) {
      const { uid, resourceVersion } = fromBody.preconditions;
      options.preconditions = {};
      if (typeof uid === "string") options.preconditions.uid = uid;
      if (typeof resourceVersion === "string") options.preconditions.resourceVersion = resourceVersion;
    }
    return options;
  }

  private async deleteOne(
    ctx: Context,
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
  ): Promise<void> {
    const { object, deleted } = this.ops.delete(rt, namespace, name, await this.deleteOptions(ctx));
    if (!deleted || rt.returnDeletedObject) return sendJson(ctx.response, 200, object);
    const details: JsonObject = { name, kind: rt.plural, uid: object.metadata.uid };
    if (rt.group) details.group = rt.group;
    sendJson(ctx.response, 200, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      details,
    });
  }

  private async deleteCollection(ctx: Context, target: ResourceRequest): Promise<void> {
    const options = await this.deleteOptions(ctx);
    const { rt, namespace } = target;
    const items = this.ops.list(rt, namespace, { filter: this.filterFrom(ctx, rt) }).items;
    const results: KubeObject[] = [];
    for (const item of items) {
      // An earlier deletion in this loop may already have garbage-collected this item.
      if (!this.exists(rt, item.metadata.namespace, item.metadata.name ?? "")) continue;
      results.push(this.ops.delete(rt, item.metadata.namespace, item.metadata.name ?? "", options).object);
    }
    sendJson(ctx.response, 200, {
      kind: rt.listKind,
      apiVersion: rt.group ? `${rt.group}/${rt.version}` : rt.version,
      metadata: { resourceVersion: String(this.ops.store.currentRevision()) },
      items: results,
    });
  }
}

function isWatch(ctx: Context): boolean {
  const watch = ctx.query.get("watch");
  return watch === "true" || watch === "1";
}

function isDryRun(value: unknown): boolean {
  return Array.isArray(value) && value.includes("All");
}
