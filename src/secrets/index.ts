/** Resolving ValueSources (inline, env, file; a Kubernetes Secret in the operator) to strings. */
export { LocalSecretResolver, SecretResolutionError } from "./resolver.ts";
export type { SecretResolver } from "./resolver.ts";
