/**
 * Benchmark processes: servers under test and load generators each run in their own process, so a
 * load generator never steals the event loop of what it measures. Workers are forked with an IPC
 * channel and driven through ./rpc.ts; memory is read from /proc.
 */
import { fork, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { isAnswer } from "./rpc.ts";
import { median } from "./stats.ts";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface WorkerOptions {
  env?: Record<string, string>;
  /** Extra node flags, e.g. --cpu-prof for the server under test. */
  execArgv?: string[];
  /** How long the worker may take to say it is ready. Default 60 s. */
  readyTimeoutMs?: number;
}

/** Flags for servers under test; `npm run bench -- --profile` sets them to write CPU profiles. */
export const serverFlags: string[] = [];

export class Worker<Ready = unknown> {
  readonly child: ChildProcess;
  readonly ready: Ready;
  readonly #pending = new Map<number, { resolve(value: unknown): void; reject(err: Error): void }>();
  #next = 0;

  private constructor(child: ChildProcess, ready: Ready) {
    this.child = child;
    this.ready = ready;
    child.on("message", (message) => {
      if (!isAnswer(message)) return;
      const pending = this.#pending.get(message.rpc);
      this.#pending.delete(message.rpc);
      if (message.error !== undefined) pending?.reject(new Error(message.error));
      else pending?.resolve(message.result);
    });
    child.once("exit", (code, signal) => {
      for (const pending of this.#pending.values()) {
        pending.reject(new Error(`worker exited (${signal ?? code}) before answering`));
      }
      this.#pending.clear();
    });
  }

  /** Forks bench/workers/<name>.ts with `params` and waits for its ready message. */
  static async start<Ready>(
    name: string,
    params: unknown,
    options: WorkerOptions = {},
  ): Promise<Worker<Ready>> {
    const file = fileURLToPath(new URL(`../workers/${name}.ts`, import.meta.url));
    const child = fork(file, [JSON.stringify(params)], {
      cwd: REPO_ROOT,
      execArgv: options.execArgv ?? [],
      env: { ...process.env, PATCHBAY_LOG_LEVEL: "warn", ...options.env },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const timeoutMs = options.readyTimeoutMs ?? 60_000;
    const ready = await new Promise<Ready>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`worker ${name} was not ready within ${timeoutMs} ms`));
      }, timeoutMs);
      const onMessage = (message: { ready?: Ready }) => {
        if (message && "ready" in message) {
          clearTimeout(timer);
          child.off("exit", onExit);
          child.off("message", onMessage);
          resolve(message.ready as Ready);
        }
      };
      const onExit = (code: number | null) => {
        clearTimeout(timer);
        reject(new Error(`worker ${name} exited with ${code} before it was ready`));
      };
      child.on("message", onMessage);
      child.once("exit", onExit);
    });
    return new Worker(child, ready);
  }

  call<T>(method: string, params?: unknown): Promise<T> {
    const rpc = ++this.#next;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(rpc, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ rpc, method, params });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Asks the worker to finish (flushing a CPU profile), then makes sure it is gone. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(killer);
  }
}

/** Resident set size of a process, in bytes (Linux /proc). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!kb) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kb[1]) * 1024;
}

/** Every process below `pid` (children, their children, …). */
export function descendantsOf(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    // The command name may contain spaces and parentheses: fields resume after the last ")".
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    const siblings = parents.get(ppid) ?? [];
    siblings.push(Number(entry));
    parents.set(ppid, siblings);
  }
  const found: number[] = [];
  const visit = (parent: number) => {
    for (const child of parents.get(parent) ?? []) {
      found.push(child);
      visit(child);
    }
  };
  visit(pid);
  return found;
}

export const MiB = 1024 * 1024;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The V8 flags the manager Deployment runs with (its NODE_OPTIONS: heap bounds), read from the manifest so
 * a benchmark of the cluster configuration measures what is deployed.
 */
export function managerNodeFlags(): string[] {
  const manifest = parse(readFileSync(`${REPO_ROOT}config/manager/manager.yaml`, "utf8")) as {
    spec: { template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } } };
  };
  const env = manifest.spec.template.spec.containers[0]!.env ?? [];
  const value = env.find((variable) => variable.name === "NODE_OPTIONS")?.value ?? "";
  return value.split(/\s+/).filter(Boolean);
}

/** SIGTERM, then SIGKILL after 15 s; resolves once the process has exited. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(killer);
}

/** The RSS of `pids` summed, the median of five samples over `ms`, so one GC in the middle does not decide it. */
export async function settledRss(pids: () => number[], ms: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    await sleep(ms / 5);
    samples.push(pids().reduce((sum, pid) => sum + rssOf(pid), 0));
  }
  return median(samples);
}
