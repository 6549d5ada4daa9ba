/**
 * Runs a plugin declared with the `process` runtime: a supervised child process whose address is
 * handed to the hub each time it (re)starts, and whose exits show up as the plugin's state.
 */
import type { PluginHub, PluginKindName } from "../hub/index.ts";
import type { Logger } from "../observability/logger.ts";
import { PluginProcess, type ProcessSpec, type ProcessTimings } from "../runtime/index.ts";

export interface ProcessPlugin {
  kind: PluginKindName;
  name: string;
  config: unknown;
  process: ProcessSpec;
}

export interface RunningProcessPlugin {
  readonly process: PluginProcess;
  stop(): Promise<void>;
}

export function runProcessPlugin(
  hub: PluginHub,
  plugin: ProcessPlugin,
  log: Logger,
  timings?: Partial<ProcessTimings>,
): RunningProcessPlugin {
  const { kind, name, config } = plugin;
  hub.upsert({
    kind,
    name,
    config,
    address: undefined,
    pending: { reason: "Starting", message: "starting the plugin process" },
  });
  const child = new PluginProcess(plugin.process, log, timings);
  child.on("ready", (address) => hub.upsert({ kind, name, config, address }));
  child.on("exited", (description, restartInMs) =>
    hub.upsert({
      kind,
      name,
      config,
      address: undefined,
      pending: {
        reason: "ProcessExited",
        message: `the plugin process ${description}; restarting in ${restartInMs} ms`,
      },
    }),
  );
  return {
    process: child,
    async stop() {
      await child.stop();
      hub.remove(kind, name);
    },
  };
}
