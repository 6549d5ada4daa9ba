/**
 * Secrets for the operator: `secretKeyRef` reads a key of a Secret in the resource's namespace; inline
 * values behave as in local runs. `env` and `file` are refused: in the cluster they would read the
 * operator's own environment and filesystem (its ServiceAccount token, the ingress tokens) on behalf of
 * anyone who may create a Notifier.
 */
import { checkServerIdentity } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import type { ExternalRuntime, ValueSource } from "../api/v1alpha1/index.ts";
import { LocalSecretResolver, SecretResolutionError, type SecretResolver } from "../secrets/index.ts";
import { apiMessage, type Cluster } from "./cluster.ts";

export class KubernetesSecretResolver implements SecretResolver {
  readonly #cluster: Pick<Cluster, "readSecret">;
  readonly #local: SecretResolver = new LocalSecretResolver({ env: {} });

  constructor(cluster: Pick<Cluster, "readSecret">) {
    this.#cluster = cluster;
  }

  async resolve(source: ValueSource, namespace?: string): Promise<string> {
    const ref = source.secretKeyRef;
    const localOnly = (["env", "file"] as const).filter((key) => source[key] !== undefined);
    if (localOnly.length > 0) {
      throw new SecretResolutionError(
        `${localOnly.join(" and ")} ${localOnly.length > 1 ? "are" : "is"} for local runs only; in the cluster use secretKeyRef (or value for what is not secret)`,
      );
    }
    if (ref === undefined || source.value !== undefined) return this.#local.resolve(source, namespace);
    if (!namespace)
      throw new SecretResolutionError(`secretKeyRef ${ref.name}/${ref.key}: no namespace to read it from`);
    const data = await readSecretData(this.#cluster, namespace, ref.name);
    const value = data[ref.key];
    if (value === undefined) {
      throw new SecretResolutionError(`Secret ${namespace}/${ref.name} has no key '${ref.key}'`);
    }
    if (value.length === 0)
      throw new SecretResolutionError(`Secret ${namespace}/${ref.name} key '${ref.key}' is empty`);
    return value.toString("utf8");
  }
}

/** A Secret's data, decoded; a rejection that names the Secret when it is missing or unreadable. */
export async function readSecretData(
  cluster: Pick<Cluster, "readSecret">,
  namespace: string,
  name: string,
): Promise<Record<string, Buffer>> {
  let secret;
  try {
    secret = await cluster.readSecret(namespace, name);
  } catch (error) {
    throw new SecretResolutionError(`cannot read Secret ${namespace}/${name}: ${apiMessage(error)}`);
  }
  if (!secret) throw new SecretResolutionError(`Secret ${namespace}/${name} not found`);
  const data: Record<string, Buffer> = {};
  for (const [key, value] of Object.entries(secret.data ?? {})) data[key] = Buffer.from(value, "base64");
  for (const [key, value] of Object.entries(secret.stringData ?? {})) data[key] = Buffer.from(value, "utf8");
  return data;
}

export interface TlsMaterial {
  credentials: grpc.ChannelCredentials;
  /** Identifies the material, so unchanged Secrets reuse one credentials object (the hub compares by identity). */
  fingerprint: string;
}

/** gRPC channel credentials for an external plugin's `tls` block: ca.crt, and tls.crt/tls.key for mTLS. */
export async function externalTlsCredentials(
  cluster: Pick<Cluster, "readSecret">,
  namespace: string,
  tls: NonNullable<ExternalRuntime["tls"]>,
): Promise<TlsMaterial> {
  const data = tls.secretName ? await readSecretData(cluster, namespace, tls.secretName) : {};
  const ca = data["ca.crt"];
  const cert = data["tls.crt"];
  const key = data["tls.key"];
  if (tls.secretName && !ca && !cert) {
    throw new SecretResolutionError(`Secret ${namespace}/${tls.secretName} has neither ca.crt nor tls.crt`);
  }
  if (Boolean(cert) !== Boolean(key)) {
    throw new SecretResolutionError(`Secret ${namespace}/${tls.secretName}: tls.crt and tls.key go together`);
  }
  const verifyOptions: grpc.VerifyOptions = {};
  if (tls.insecureSkipVerify) verifyOptions.rejectUnauthorized = false;
  if (tls.serverName) {
    const serverName = tls.serverName;
    // The address may be an IP or an alias; the certificate is checked against the name given.
    verifyOptions.checkServerIdentity = (_host, certificate) => checkServerIdentity(serverName, certificate);
  }
  const credentials = grpc.credentials.createSsl(ca ?? null, key ?? null, cert ?? null, verifyOptions);
  const fingerprint = JSON.stringify([
    tls,
    ca?.toString("base64"),
    cert?.toString("base64"),
    key?.toString("base64"),
  ]);
  return { credentials, fingerprint };
}
