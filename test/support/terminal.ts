/**
 * Runs a command under a pseudo-terminal, as a person at a terminal runs it: util-linux's `script`
 * gives the command a tty for stdin, stdout and stderr, and copies everything written to it to ours.
 */
/* eslint-disable no-control-regex -- a terminal's output is read for its colour escapes */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";

export interface TerminalRun {
  readonly child: ChildProcess;
  /** Everything the terminal showed so far, colours and carriage returns included. */
  output(): string;
  /** Ctrl-C: SIGINT to the command's process group, then waits for `script` to end. */
  interrupt(): Promise<void>;
}

/** `columns` sets the terminal's width (stty), so that what fits in 80 columns can be checked. */
export function runInTerminal(
  command: string,
  options: { columns?: number; env?: NodeJS.ProcessEnv } = {},
): TerminalRun {
  const shell = `stty cols ${options.columns ?? 80} rows 24; exec ${command}`;
  // detached: `script` leads its own process group, so the test can signal it and what it runs.
  const child = spawn("script", ["-qfec", shell, "/dev/null"], {
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
    env: { ...process.env, ...options.env },
  });
  let text = "";
  child.stdout!.on("data", (chunk: Buffer) => (text += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (text += chunk.toString()));
  return {
    child,
    output: () => text,
    async interrupt() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      // The command runs in the terminal's foreground group; a Ctrl-C byte reaches it as SIGINT.
      child.stdin!.write("\x03");
      const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The text without colour codes and carriage returns, split into lines. */
export function plainLines(text: string): string[] {
  return text
    .replace(/\x1b\[[0-9;]*m/g, "")
    .replace(/\r/g, "")
    .split("\n");
}
