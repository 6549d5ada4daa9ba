/**
 * Kubernetes `Status` failures, shaped exactly like the real API server's so that client-node,
 * kubectl and our own error handling see what they would see against a cluster.
 */

export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Failure" | "Success";
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** Where an error happened, in the terms the real server puts into `details`. */
export interface ErrorTarget {
  group: string;
  /** The resource plural (the real server reports `details.kind` as the plural for most errors). */
  plural: string;
}

/** An API failure carrying the `Status` body to send; thrown by operations, rendered by the router. */
export class ApiError extends Error {
  readonly status: Status;

  constructor(status: Status) {
    super(status.message ?? status.reason ?? `HTTP ${status.code}`);
    this.name = "ApiError";
    this.status = status;
  }

  get code(): number {
    return this.status.code;
  }

  get reason(): string | undefined {
    return this.status.reason;
  }
}

const reasonByCode: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  406: "NotAcceptable",
  409: "Conflict",
  410: "Gone",
  415: "UnsupportedMediaType",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
  504: "Timeout",
};

/** The reason the real server uses for a bare HTTP code (used by fault injection). */
export function reasonForCode(code: number): string {
  return reasonByCode[code] ?? "Unknown";
}

export function failure(code: number, reason: string, message: string, details?: StatusDetails): ApiError {
  const status: Status = {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    code,
  };
  if (details) status.details = details;
  return new ApiError(status);
}

/** `pods` for the core group, `sourceplugins.patchbay.dev` otherwise: how messages name resources. */
function qualifiedResource(target: ErrorTarget): string {
  return target.group ? `${target.plural}.${target.group}` : target.plural;
}

function details(target: ErrorTarget, name: string): StatusDetails {
  const d: StatusDetails = { name, kind: target.plural };
  if (target.group) d.group = target.group;
  return d;
}

export function notFound(target: ErrorTarget, name: string): ApiError {
  return failure(404, "NotFound", `${qualifiedResource(target)} "${name}" not found`, details(target, name));
}

export function alreadyExists(target: ErrorTarget, name: string): ApiError {
  return failure(
    409,
    "AlreadyExists",
    `${qualifiedResource(target)} "${name}" already exists`,
    details(target, name),
  );
}

export function conflict(target: ErrorTarget, name: string, why: string): ApiError {
  return failure(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${qualifiedResource(target)} "${name}": ${why}`,
    details(target, name),
  );
}

export const staleObject =
  "the object has been modified; please apply your changes to the latest version and try again";

/** 422: the real server names the Kind (not the plural) in both message and details. */
export function invalid(group: string, kind: string, name: string, causes: StatusCause[]): ApiError {
  const qualifiedKind = group ? `${kind}.${group}` : kind;
  const listed = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const summary = listed.length === 1 ? listed[0] : `[${listed.join(", ")}]`;
  const d: StatusDetails = { name, kind, causes };
  if (group) d.group = group;
  return failure(422, "Invalid", `${qualifiedKind} "${name}" is invalid: ${summary}`, d);
}

export function badRequest(message: string): ApiError {
  return failure(400, "BadRequest", message);
}

export function forbidden(message: string): ApiError {
  return failure(403, "Forbidden", message);
}

export function methodNotAllowed(): ApiError {
  return failure(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
}

export function notFoundPath(): ApiError {
  return failure(404, "NotFound", "the server could not find the requested resource");
}

export function unsupportedMediaType(contentType: string, accepted: string[]): ApiError {
  return failure(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(", ")}`,
    { causes: [{ reason: "UnexpectedServerResponse", message: contentType }] },
  );
}

/** What a watch from a compacted resourceVersion gets (the real server says Expired, code 410). */
export function expired(requested: number, oldest: number): ApiError {
  return failure(410, "Expired", `too old resource version: ${requested} (${oldest})`);
}
