/** Bearer-token authentication, compared in constant time. */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { HttpError } from "./http-errors.ts";

export interface AuthConfig {
  /** Accepted bearer tokens; empty means no authentication, unless `refuseWithoutTokens` is set. */
  tokens: string[];
  /**
   * With no tokens, refuse every request to the token-protected routes with 503 and this explanation
   * (how to configure tokens) instead of answering anyone: the operator's default in a cluster.
   */
  refuseWithoutTokens?: string;
}

export type Authenticator = (req: IncomingMessage) => void;

/** Returns a check that throws a 401 HttpError unless the request carries one of the tokens. */
export function bearerAuthenticator(config: AuthConfig | undefined): Authenticator {
  // Hashing first makes every comparison the same length, so timing reveals neither content nor length.
  const digests = (config?.tokens ?? []).filter((t) => t !== "").map(digest);
  if (digests.length === 0) {
    const refusal = config?.refuseWithoutTokens;
    if (refusal === undefined) return () => {};
    return () => {
      throw new HttpError(503, "ingress-tokens-required", refusal);
    };
  }
  return (req) => {
    const header = req.headers.authorization;
    if (!header) throw unauthenticated("this endpoint needs an Authorization: Bearer <token> header");
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (!match) throw unauthenticated("the Authorization header must be of the form: Bearer <token>");
    const presented = digest(match[1]!);
    let accepted = false;
    for (const candidate of digests) accepted = timingSafeEqual(presented, candidate) || accepted;
    if (!accepted) throw unauthenticated("the bearer token is not valid", 'Bearer error="invalid_token"');
  };
}

/** Constant-time equality of two secrets of any length. */
export function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

function unauthenticated(message: string, challenge = "Bearer"): HttpError {
  return new HttpError(401, "unauthenticated", message, { "www-authenticate": challenge });
}
