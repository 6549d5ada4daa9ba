/** Starts a plugin file as a real child process and learns its address from the handshake line. */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";

export interface StartedPlugin {
  child: ChildProcess;
  address: string;
  stderr: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startPluginProcess(
  file: string,
  env: Record<string, string> = {},
): Promise<StartedPlugin> {
  const child = spawn(process.execPath, [file], {
    env: { ...process.env, PATCHBAY_PLUGIN_ADDRESS: "127.0.0.1:0", PATCHBAY_LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout! });
  const [line] = (await Promise.race([
    once(lines, "line"),
    once(child, "exit").then(() => {
      throw new Error(`plugin ${file} exited before its handshake: ${stderr}`);
    }),
  ])) as [string];
  const address = line.split("|")[3];
  if (!address) throw new Error(`unexpected handshake line from ${file}: ${line}`);
  return {
    child,
    address,
    stderr: () => stderr,
    async stop(signal = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = (await once(child, "exit")) as [number | null];
      return code;
    },
  };
}
