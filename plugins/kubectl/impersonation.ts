/**
 * The kubectl flags that act as the person who asked: the Kubernetes identity Patchbay mapped them to
 * (the Notifier's spec.commands.access), which arrives in the execute context and never from the command
 * text — the policy refuses --as, --as-group and every other identity flag typed in chat. They are added
 * after the policy check, in the `--flag=value` form, so no value can be read as anything else.
 */
import { ExecutorError } from "@patchbay/sdk";
import type { KubernetesImpersonation } from "@patchbay/sdk/protocol";

export function impersonationFlags(impersonation: KubernetesImpersonation | undefined): string[] {
  if (!impersonation) return [];
  // The API server refuses groups without a user; an empty name would impersonate nobody in particular.
  if (impersonation.user === "" || impersonation.groups.includes("")) {
    throw new ExecutorError(
      "invalid-argument",
      "the host asked to impersonate an empty Kubernetes user or group; check the Notifier's spec.commands.access",
    );
  }
  return [`--as=${impersonation.user}`, ...impersonation.groups.map((group) => `--as-group=${group}`)];
}
