/**
 * The process runtime (local runs): a plugin as a child process, the go-plugin way. The child prints
 * one handshake line with its address on stdout; we restart it with backoff when it dies and stop it
 * with SIGTERM (then SIGKILL) when asked.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { createInterface } from "node:readline";
import type { Logger } from "../observability/logger.ts";
import { Backoff } from "../retry/backoff.ts";

export interface ProcessSpec {
  /** A label for logs, e.g. "source/heartbeat". */
  name: string;
  /** Program and arguments; "node" means the Node that runs Patchbay. */
  command: string[];
  env?: Record<string, string>;
  cwd?: string;
}

export interface ProcessTimings {
  /** How long a started child may take to print its handshake line. */
  handshakeTimeoutMs: number;
  /** How long a child may take to exit after SIGTERM before it is killed. */
  stopGraceMs: number;
  restartInitialMs: number;
  restartMaxMs: number;
  /** A child that ran this long before dying restarts without the accumulated backoff. */
  stableAfterMs: number;
}

export const DEFAULT_PROCESS_TIMINGS: ProcessTimings = {
  handshakeTimeoutMs: 15_000,
  stopGraceMs: 10_000,
  restartInitialMs: 250,
  restartMaxMs: 30_000,
  stableAfterMs: 10_000,
};

const HANDSHAKE = /^PATCHBAY_PLUGIN\|(\d+)\|tcp\|(\S+)\|grpc$/;

export interface ProcessEvents {
  /** The child is listening at this address. */
  ready: [address: string, pid: number];
  /** The child is gone; it will be restarted after `restartInMs` unless stopped. */
  exited: [description: string, restartInMs: number];
}

/** One supervised plugin process, started at construction. */
export class PluginProcess extends EventEmitter<ProcessEvents> {
  readonly #spec: ProcessSpec;
  readonly #log: Logger;
  readonly #timings: ProcessTimings;
  readonly #backoff: Backoff;
  #child: ChildProcess | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #restarts = 0;

  constructor(spec: ProcessSpec, log: Logger, timings: Partial<ProcessTimings> = {}) {
    super();
    this.#spec = spec;
    this.#log = log.child({ process: spec.name });
    this.#timings = { ...DEFAULT_PROCESS_TIMINGS, ...timings };
    this.#backoff = new Backoff({
      initialMs: this.#timings.restartInitialMs,
      maxMs: this.#timings.restartMaxMs,
    });
    if (spec.command.length === 0) throw new Error(`${spec.name}: the process runtime needs a command`);
    queueMicrotask(() => this.#start());
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** How many times the child has been restarted after dying. */
  get restarts(): number {
    return this.#restarts;
  }

  /** SIGTERM, then SIGKILL after the grace period; resolves once the child has exited. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#restartTimer);
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), this.#timings.stopGraceMs);
    await exited;
    clearTimeout(killer);
  }

  #start(): void {
    if (this.#stopped) return;
    const [program, ...args] = this.#spec.command;
    const startedAt = Date.now();
    const child = spawn(program === "node" ? process.execPath : program!, args, {
      cwd: this.#spec.cwd,
      env: {
        ...process.env,
        ...this.#spec.env,
        PATCHBAY_PLUGIN_ADDRESS: "127.0.0.1:0",
        PATCHBAY_PLUGIN_EXIT_WITH_PARENT: "1",
      },
      stdio: ["pipe", "pipe", "inherit"],
    });
    this.#child = child;
    let announced = false;
    const handshakeTimer = setTimeout(() => {
      this.#log.warn("plugin did not announce its address in time; killing it", {
        timeoutMs: this.#timings.handshakeTimeoutMs,
      });
      child.kill("SIGKILL");
    }, this.#timings.handshakeTimeoutMs);

    createInterface({ input: child.stdout! }).on("line", (line) => {
      const handshake = announced ? null : HANDSHAKE.exec(line);
      if (handshake) {
        announced = true;
        clearTimeout(handshakeTimer);
        this.#log.info("plugin process ready", { pid: child.pid, address: handshake[2] });
        this.emit("ready", handshake[2]!, child.pid!);
      } else {
        this.#log.info("plugin output", { line });
      }
    });
    let gone = false;
    const onGone = (description: string) => {
      clearTimeout(handshakeTimer);
      if (gone || this.#stopped) return;
      gone = true;
      if (Date.now() - startedAt >= this.#timings.stableAfterMs) this.#backoff.reset();
      const delay = this.#backoff.next();
      this.#log.warn("plugin process ended; restarting", { pid: child.pid, description, restartInMs: delay });
      this.emit("exited", description, delay);
      this.#restartTimer = setTimeout(() => {
        this.#restarts++;
        this.#start();
      }, delay);
    };
    // A program that cannot be started emits "error" and may never emit "exit".
    child.on("error", (err) => onGone(`could not be started: ${err.message}`));
    child.on("exit", (code, signal) => onGone(signal ? `killed by ${signal}` : `exited with code ${code}`));
  }
}
