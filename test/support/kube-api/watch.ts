/**
 * Watch streams: newline-delimited JSON events over a chunked HTTP/1.1 response, replayed from
 * the store's bounded history and then live. Mirrors the real server's edges: a too-old
 * resourceVersion gets a single ERROR event with a 410 Status, a watch without one starts with
 * synthetic ADDED events, and objects moving in or out of a label selector appear as ADDED/DELETED.
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import { badRequest, expired } from "./errors.ts";
import type { KubeObject } from "./objects.ts";
import type { Operations } from "./operations.ts";
import { apiVersionOfType } from "./registry.ts";
import type { ResourceType } from "./registry.ts";
import type { ObjectFilter } from "./selectors.ts";
import type { StoreEvent } from "./store.ts";
import { toTable } from "./table.ts";

export interface WatchRequest {
  rt: ResourceType;
  namespace?: string;
  filter: ObjectFilter;
  resourceVersion?: string | null;
  timeoutSeconds?: number;
  allowBookmarks: boolean;
  sendInitialEvents: boolean;
  /** Set when the client asked for `as=Table` (kubectl get -w). */
  table?: { includeObject: string | null };
}

type EventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

interface OpenWatch {
  request: IncomingMessage;
  response: ServerResponse;
}

export class WatchHub {
  private readonly ops: Operations;
  private readonly open = new Set<OpenWatch>();
  private readonly bookmarkIntervalMs: number;

  constructor(ops: Operations, bookmarkIntervalMs: number) {
    this.ops = ops;
    this.bookmarkIntervalMs = bookmarkIntervalMs;
  }

  count(): number {
    return this.open.size;
  }

  /** Destroys every watch socket mid-stream, as a crashing apiserver or a broken network would. */
  dropAll(): number {
    const n = this.open.size;
    for (const watch of [...this.open]) watch.request.socket.destroy();
    return n;
  }

  /** Ends every watch cleanly, as the server does when a watch's timeout expires. */
  endAll(): number {
    const n = this.open.size;
    for (const watch of [...this.open]) watch.response.end();
    return n;
  }

  /** Validates the request (throwing ApiError before any byte is sent), then streams. */
  serve(request: IncomingMessage, response: ServerResponse, watch: WatchRequest): void {
    const start = this.startingPoint(watch.resourceVersion);
    response.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-cache, private" });
    response.flushHeaders();
    const stream = new WatchStream(this.ops, response, watch);

    if (start.kind === "expired") {
      stream.send("ERROR", start.error);
      response.end();
      return;
    }
    const entry: OpenWatch = { request, response };
    this.open.add(entry);
    if (start.kind === "initial") {
      for (const obj of this.ops.list(watch.rt, watch.namespace, { filter: watch.filter }).items) {
        stream.send("ADDED", obj);
      }
      if (watch.sendInitialEvents && watch.allowBookmarks) {
        stream.bookmark({ "k8s.io/initial-events-end": "true" });
      }
    } else {
      for (const event of start.events) stream.deliver(event);
    }
    const unsubscribe = this.ops.store.subscribe((event) => stream.deliver(event));
    const timers: NodeJS.Timeout[] = [];
    if (watch.allowBookmarks) timers.push(setInterval(() => stream.bookmark(), this.bookmarkIntervalMs));
    if (watch.timeoutSeconds !== undefined) {
      timers.push(setTimeout(() => response.end(), watch.timeoutSeconds * 1000));
    }
    response.on("close", () => {
      unsubscribe();
      for (const timer of timers) clearTimeout(timer);
      this.open.delete(entry);
    });
  }

  private startingPoint(
    resourceVersion: string | null | undefined,
  ): { kind: "initial" } | { kind: "replay"; events: StoreEvent[] } | { kind: "expired"; error: unknown } {
    if (!resourceVersion || resourceVersion === "0") return { kind: "initial" };
    const rv = Number(resourceVersion);
    if (!Number.isInteger(rv) || rv < 0) {
      throw badRequest(`invalid resource version "${resourceVersion}"`);
    }
    const events = this.ops.store.eventsSince(rv);
    if (!events) return { kind: "expired", error: expired(rv, this.ops.store.oldestWatchable()).status };
    return { kind: "replay", events };
  }
}

/** One client's stream: filtering, selector transitions, encoding. */
class WatchStream {
  private readonly ops: Operations;
  private readonly response: ServerResponse;
  private readonly watch: WatchRequest;
  private sentTableHeader = false;

  constructor(ops: Operations, response: ServerResponse, watch: WatchRequest) {
    this.ops = ops;
    this.response = response;
    this.watch = watch;
  }

  private inScope(obj: KubeObject | undefined): obj is KubeObject {
    if (!obj) return false;
    if (this.watch.namespace && this.watch.rt.namespaced && obj.metadata.namespace !== this.watch.namespace) {
      return false;
    }
    return this.watch.filter(obj);
  }

  deliver(event: StoreEvent): void {
    const { rt } = this.watch;
    if (event.storage !== rt.storage) return;
    const current = this.ops.present(rt, event.object);
    const previous = event.previous ? this.ops.present(rt, event.previous) : undefined;
    const nowIn = this.inScope(current);
    const wasIn = this.inScope(previous);
    if (event.type === "ADDED" && nowIn) this.send("ADDED", current);
    else if (event.type === "DELETED" && (wasIn || nowIn)) this.send("DELETED", current);
    else if (event.type === "MODIFIED") {
      if (nowIn && wasIn) this.send("MODIFIED", current);
      else if (nowIn) this.send("ADDED", current);
      else if (wasIn) this.send("DELETED", current);
    }
  }

  bookmark(annotations?: Record<string, string>): void {
    const metadata: Record<string, unknown> = { resourceVersion: String(this.ops.store.currentRevision()) };
    if (annotations) metadata.annotations = annotations;
    this.send("BOOKMARK", {
      kind: this.watch.rt.kind,
      apiVersion: apiVersionOfType(this.watch.rt),
      metadata,
    });
  }

  send(type: EventType, object: unknown): void {
    if (this.response.writableEnded || this.response.destroyed) return;
    let payload = object;
    if (this.watch.table && (type === "ADDED" || type === "MODIFIED" || type === "DELETED")) {
      const obj = object as KubeObject;
      payload = toTable(this.watch.rt, [obj], {
        resourceVersion: obj.metadata.resourceVersion ?? "",
        includeObject: this.watch.table.includeObject,
        withColumns: !this.sentTableHeader,
      });
      this.sentTableHeader = true;
    }
    this.response.write(JSON.stringify({ type, object: payload }) + "\n");
  }
}
