/**
 * The plugin hub seen through the ports of the ingress and the command dispatcher: which sources and
 * executors exist, whether they are ready and why not, and calls into them.
 */
import type { ExecutorDirectory, ExecutorInfo } from "../commands/index.ts";
import { PluginCallError, type PluginHub, type PluginState } from "../hub/index.ts";
import type { SourceDirectory, SourceInfo } from "../ingress/index.ts";

export interface DeclaredExecutor {
  name: string;
  prefixes: string[];
  aliases: Record<string, string>;
  timeoutMs: number;
}

/** Why a plugin is not ready, for people: "Unavailable (ProcessExited): the plugin process …". */
export function notReadyReason(state: PluginState | undefined): string {
  if (!state) return "not started yet";
  return state.phase === "Ready" ? "" : `${state.phase} (${state.reason}): ${state.message}`;
}

export class HubSourceDirectory implements SourceDirectory {
  readonly #hub: PluginHub;
  readonly #declared: () => ReadonlySet<string>;

  constructor(hub: PluginHub, declared: () => ReadonlySet<string>) {
    this.#hub = hub;
    this.#declared = declared;
  }

  lookup(name: string): SourceInfo | undefined {
    if (!this.#declared().has(name)) return undefined;
    const state = this.#hub.state("source", name);
    return {
      name,
      ready: state?.phase === "Ready",
      reason: notReadyReason(state),
      // The policy of the last successful connection stays valid while the plugin restarts.
      acceptsCloudEvents: state?.ingress?.acceptCloudEvents ?? false,
      allowedTypes: state?.ingress?.allowedTypes ?? [],
      acceptsExternalRequests: state?.plugin?.acceptsExternalRequests ?? false,
    };
  }

  async handleExternalRequest(...args: Parameters<SourceDirectory["handleExternalRequest"]>) {
    try {
      return await this.#hub.handleExternalRequest(...args);
    } catch (err) {
      throw asDirectoryError(err);
    }
  }
}

export class HubExecutorDirectory implements ExecutorDirectory {
  readonly #hub: PluginHub;
  readonly #declared: () => readonly DeclaredExecutor[];

  constructor(hub: PluginHub, declared: () => readonly DeclaredExecutor[]) {
    this.#hub = hub;
    this.#declared = declared;
  }

  list(): ExecutorInfo[] {
    return this.#declared().map((executor) => {
      const state = this.#hub.state("executor", executor.name);
      return { ...executor, ready: state?.phase === "Ready", reason: notReadyReason(state) };
    });
  }

  async execute(...args: Parameters<ExecutorDirectory["execute"]>) {
    try {
      return await this.#hub.execute(...args);
    } catch (err) {
      throw asDirectoryError(err);
    }
  }

  async help(name: string, deadlineMs: number): Promise<string> {
    try {
      return await this.#hub.help(name, deadlineMs);
    } catch (err) {
      throw asDirectoryError(err);
    }
  }
}

/** The ports speak of unavailable / unsupported / timeout / failed; the hub has one more shade. */
function asDirectoryError(err: unknown): Error {
  if (!(err instanceof PluginCallError)) return err as Error;
  if (err.code !== "rejected") return err;
  return Object.assign(new Error(`the plugin rejected the call: ${err.message}`), { code: "failed" });
}
