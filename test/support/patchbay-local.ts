/**
 * `patchbay local` as a user runs it — the real CLI in a child process — for tests that bring their own
 * manifests: the ingress URL read from its log, events read from its stdout, commands sent to /commands.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { waitFor } from "./wait.ts";

const CLI = path.resolve("src/cli/main.ts");

export interface CommandAnswer {
  httpStatus: number;
  body: { executor?: string; status?: string; output?: string; error?: { code: string; message: string } };
}

export interface PatchbayLocal {
  readonly url: string;
  stdout(): string;
  stderr(): string;
  /** The JSON lines the log notifier printed. */
  events(): { id: string; source: string; type: string; data?: unknown }[];
  command(command: string): Promise<CommandAnswer>;
  /** SIGTERM, then the exit code (SIGKILL after 15 s). */
  stop(): Promise<number | null>;
  /** SIGKILL, as a crash or an OOM kill: nothing gets to finish. Resolves once the process is gone. */
  kill(): Promise<void>;
}

/** `args` follow the defaults, so they may replace one (the last value of a flag wins), e.g. `--port`. */
export async function startPatchbayLocal(manifestDir: string, args: string[] = []): Promise<PatchbayLocal> {
  const child: ChildProcess = spawn(
    process.execPath,
    [CLI, "local", "--dir", manifestDir, "--port", "0", "--management-port", "0", ...args],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`patchbay local exited ${child.exitCode}: ${stderr}`);
      return /"ingress":"(http:\/\/[^"]+)"/.exec(stderr)?.[1];
    },
    { what: "the ingress URL in patchbay local's log", timeoutMs: 20_000 },
  );
  return {
    url,
    stdout: () => stdout,
    stderr: () => stderr,
    events: () =>
      stdout
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { id: string; source: string; type: string; data?: unknown }),
    async command(command) {
      const response = await fetch(`${url}/commands`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ command }),
      });
      return { httpStatus: response.status, body: (await response.json()) as CommandAnswer["body"] };
    },
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      const exited = once(child, "exit") as Promise<[number | null]>;
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      const [code] = await exited;
      clearTimeout(killer);
      return code;
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGKILL");
      await exited;
    },
  };
}
