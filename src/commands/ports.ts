/**
 * What command dispatch needs from the rest of Patchbay. The lead wires these to the plugin hub; tests
 * implement them with fakes or with a real executor over gRPC.
 */
import type { Impersonation } from "./access.ts";

export interface ExecutorDirectory {
  list(): ExecutorInfo[];
  /** Rejects with an Error whose `code` is "unavailable" | "timeout" | "failed" when the call itself fails. */
  execute(
    name: string,
    request: {
      command: string;
      args: string[];
      prefix: string;
      context: {
        user: string;
        notifier: string;
        channel: string;
        /** Set by the host from the channel's access rules, never from the command text. */
        impersonation?: Impersonation;
      };
    },
    deadlineMs: number,
  ): Promise<ExecutorAnswer>;
  help(name: string, deadlineMs: number): Promise<string>;
}

export interface ExecutorInfo {
  name: string;
  /** One or more words each, e.g. ["kubectl", "helm list"]. */
  prefixes: string[];
  /** First word → replacement, e.g. { k: "kubectl", kgp: "kubectl get pods" }. */
  aliases: Record<string, string>;
  ready: boolean;
  /** Why not ready, e.g. "Unavailable: connection refused". */
  reason: string;
  timeoutMs: number;
}

export interface ExecutorAnswer {
  output: string;
  message?: unknown;
  errorCode: "ok" | "forbidden" | "invalid-argument" | "failed" | "timeout";
  errorMessage: string;
}
