/** Starts a plugin file as a real child process and learns its address from the handshake line. */
import { startPlugin, type StartedPlugin } from "../../plugins/testing/index.ts";

export type { StartedPlugin };

export function startPluginProcess(file: string, env: Record<string, string> = {}): Promise<StartedPlugin> {
  return startPlugin(file, { env });
}
