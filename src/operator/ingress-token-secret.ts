/**
 * The Secret holding the ingress bearer tokens, made when the install names one that does not exist yet:
 * kustomize cannot generate a random value, so the operator does, once, and every replica then reads it.
 */
import { randomBytes } from "node:crypto";
import type { V1Secret } from "@kubernetes/client-node";

/** The Secret the kustomize install names in PATCHBAY_INGRESS_TOKENS_SECRET. */
export const INGRESS_TOKENS_SECRET = "patchbay-ingress-tokens";

/** A Secret with one random token (256 bits, base64url) under the key `tokens`. */
export function newIngressTokenSecret(namespace: string, name: string): V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name,
      namespace,
      labels: { "app.kubernetes.io/name": "patchbay", "app.kubernetes.io/component": "ingress-tokens" },
      annotations: {
        "patchbay.dev/description":
          "Bearer tokens for Patchbay's ingress (/events, /sources, /commands), one per line under the key tokens. Created by the operator with a random token; edit it to rotate, then restart the operator.",
      },
    },
    type: "Opaque",
    stringData: { tokens: `${randomBytes(32).toString("base64url")}\n` },
  };
}
