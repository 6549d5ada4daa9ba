/** Runs kubectl directly (never through a shell), bounded in time and in output. */
import { spawn } from "node:child_process";

export interface RunOptions {
  timeoutMs: number;
  maxOutputBytes: number;
  signal: AbortSignal;
}

export type RunOutcome =
  | { kind: "exited"; code: number; output: string }
  | { kind: "timeout"; output: string }
  | { kind: "cancelled"; output: string }
  | { kind: "not-started"; reason: string };

export function runKubectl(path: string, args: string[], options: RunOptions): Promise<RunOutcome> {
  return new Promise((resolve) => {
    const child = spawn(path, args, { shell: false, stdio: ["ignore", "pipe", "pipe"] });
    const output = new BoundedOutput(options.maxOutputBytes);
    child.stdout.on("data", (chunk: Buffer) => output.add(chunk));
    child.stderr.on("data", (chunk: Buffer) => output.add(chunk));
    let stoppedFor: "timeout" | "cancelled" | undefined;
    const stop = (why: "timeout" | "cancelled") => {
      stoppedFor ??= why;
      child.kill("SIGKILL");
    };
    const timer = setTimeout(() => stop("timeout"), options.timeoutMs);
    const onAbort = () => stop("cancelled");
    options.signal.addEventListener("abort", onAbort, { once: true });
    if (options.signal.aborted) onAbort();
    const cleanUp = () => {
      clearTimeout(timer);
      options.signal.removeEventListener("abort", onAbort);
    };
    child.once("error", (err: NodeJS.ErrnoException) => {
      cleanUp();
      resolve({ kind: "not-started", reason: err.code === "ENOENT" ? `${path} not found` : err.message });
    });
    // Once stopped, answer at exit: a grandchild may still hold the pipes open, and must not hold us.
    child.once("exit", () => {
      if (!stoppedFor) return;
      cleanUp();
      child.stdout.destroy();
      child.stderr.destroy();
      resolve({ kind: stoppedFor, output: output.text() });
    });
    child.once("close", (code) => {
      cleanUp();
      resolve(
        stoppedFor
          ? { kind: stoppedFor, output: output.text() }
          : { kind: "exited", code: code ?? 1, output: output.text() },
      );
    });
  });
}

/** Keeps the first `limit` bytes and counts the rest, so a huge answer costs no memory. */
class BoundedOutput {
  readonly #limit: number;
  readonly #chunks: Buffer[] = [];
  #kept = 0;
  #total = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  add(chunk: Buffer): void {
    this.#total += chunk.length;
    const room = this.#limit - this.#kept;
    if (room <= 0) return;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.#chunks.push(part);
    this.#kept += part.length;
  }

  text(): string {
    // A cut may split a multi-byte character; drop the broken tail rather than show a replacement mark.
    const text = Buffer.concat(this.#chunks)
      .toString("utf8")
      .replace(/\uFFFD+$/, "");
    if (this.#total <= this.#limit) return text;
    return `${text}\n… output trimmed to ${this.#limit} bytes (${this.#total} bytes in all); narrow the command, e.g. with -l, --tail or -o name`;
  }
}
