/** The real `patchbay operator` as a child process, as a user runs it outside the cluster. */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { waitFor } from "./wait.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

export interface OperatorProcess {
  child: ChildProcess;
  /** The management URL (/healthz, /readyz, /metrics), once /readyz answers 200. */
  management: string;
  /** The ingress URL (/events, /commands). */
  ingress: string;
  /** The identity it contends for the Lease with, from its start line. */
  identity: string;
  /** Everything it logged so far (JSON lines). */
  stderr(): string;
  /** How many times it logged "became leader". */
  becameLeader(): number;
  exited: Promise<unknown[]>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

interface RunningLine {
  message?: string;
  management?: string;
  ingress?: string;
  identity?: string;
}

/**
 * Starts `src/cli/main.ts operator` with KUBECONFIG and `env` (POD_NAMESPACE unset unless given: a
 * process outside the cluster) and resolves once it has logged its start line and /readyz answers 200.
 * Each started process is added to `children` so the caller can SIGKILL what is left.
 */
export async function startOperatorProcess(
  kubeconfig: string,
  env: Record<string, string>,
  children: ChildProcess[],
  { readyTimeoutMs = 10_000 } = {},
): Promise<OperatorProcess> {
  // Nothing that changes what the operator does comes from the test runner's own environment.
  const {
    NODE_TEST_CONTEXT: _testContext,
    POD_NAMESPACE: _namespace,
    PATCHBAY_INGRESS_TOKENS: _tokens,
    PATCHBAY_INGRESS_TOKENS_SECRET: _secret,
    PATCHBAY_INGRESS_ALLOW_ANONYMOUS: _anonymous,
    ...inherited
  } = process.env;
  const child = spawn(process.execPath, ["src/cli/main.ts", "operator"], {
    cwd: ROOT,
    env: {
      ...inherited,
      KUBECONFIG: kubeconfig,
      PATCHBAY_HOST: "127.0.0.1",
      PATCHBAY_INGRESS_PORT: "0",
      PATCHBAY_MANAGEMENT_PORT: "0",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, "exit");
  let running: RunningLine | undefined;
  // Logs are JSON lines on stderr.
  createInterface({ input: child.stderr! }).on("line", (line) => {
    try {
      const entry = JSON.parse(line) as RunningLine;
      if (entry.message === "patchbay operator is running") running = entry;
    } catch {
      // not a log line
    }
  });
  const started = await waitFor(() => running, { timeoutMs: readyTimeoutMs, what: "the running line" }).catch(
    (error: Error) => {
      throw new Error(`${error.message}; stderr: ${stderr}`);
    },
  );
  const management = started.management!;
  await waitFor(async () => (await fetch(`${management}/readyz`)).status === 200, {
    timeoutMs: readyTimeoutMs,
    what: "/readyz 200",
  });
  return {
    child,
    management,
    ingress: started.ingress!,
    identity: started.identity!,
    stderr: () => stderr,
    becameLeader: () =>
      stderr.split("\n").filter((line) => line.includes('"message":"became leader"')).length,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}
