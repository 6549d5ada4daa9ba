/**
 * Impersonation as the real server reads it (Impersonate-User, one Impersonate-Group header per group),
 * and the one piece of authorization the double does: users a test forbids are refused every resource
 * request made as them, with the real server's 403 Status and wording. Discovery and /version stay
 * open, as the real server's system:discovery role leaves them open to every authenticated user.
 */
import type { IncomingMessage } from "node:http";
import { failure, type ApiError } from "./errors.ts";

export interface Impersonation {
  user: string;
  groups: string[];
}

/** The identity the request impersonates, or undefined when it impersonates nobody. */
export function impersonationOf(request: IncomingMessage): Impersonation | undefined {
  const user = request.headersDistinct["impersonate-user"]?.[0];
  if (user === undefined) return undefined;
  return { user, groups: request.headersDistinct["impersonate-group"] ?? [] };
}

/** What a resource request asks for, in RBAC's terms; undefined for discovery and other non-resource paths. */
interface ResourceAttributes {
  verb: string;
  group: string;
  resource: string;
  namespace?: string;
}

// /api/v1/[namespaces/NS/]RESOURCE[/NAME[/SUB]] and /apis/GROUP/VERSION/[namespaces/NS/]RESOURCE[/NAME[/SUB]]
const RESOURCE_PATH =
  /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)\/(?:namespaces\/([^/]+)\/)?([^/]+)(?:\/([^/]+))?(?:\/[^/]+)?$/;

function resourceAttributes(method: string, path: string, query: string): ResourceAttributes | undefined {
  const match = RESOURCE_PATH.exec(path);
  if (!match) return undefined;
  // GET /api/v1/namespaces/NS reads as resource "namespaces", name NS, at the cluster scope.
  const [, group = "", namespace, resource, name] = match;
  const watch = /[?&]watch=(true|1)(&|$)/.test(query);
  const verbs: Record<string, string> = {
    GET: watch ? "watch" : name ? "get" : "list",
    POST: "create",
    PUT: "update",
    PATCH: "patch",
    DELETE: name ? "delete" : "deletecollection",
  };
  return { verb: verbs[method] ?? method.toLowerCase(), group, resource: resource!, namespace };
}

/** The real server's refusal of a request made as a forbidden user, or undefined when it may proceed. */
export function forbiddenFor(
  forbiddenUsers: ReadonlySet<string>,
  request: IncomingMessage,
  path: string,
  query: string,
): ApiError | undefined {
  const identity = impersonationOf(request);
  if (!identity || !forbiddenUsers.has(identity.user)) return undefined;
  const attributes = resourceAttributes(request.method ?? "GET", path, query);
  if (!attributes) return undefined;
  const { verb, group, resource, namespace } = attributes;
  const scope = namespace === undefined ? "at the cluster scope" : `in the namespace "${namespace}"`;
  return failure(
    403,
    "Forbidden",
    `${resource} is forbidden: User "${identity.user}" cannot ${verb} resource "${resource}" in API group "${group}" ${scope}`,
    { group, kind: resource },
  );
}
