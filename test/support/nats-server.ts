/**
 * A real nats-server for tests: Debian's package, started on a free loopback port with JetStream and a
 * temporary store, stopped (SIGTERM), killed (SIGKILL) or restarted on the same port and store. Also a
 * JetStream cluster of several such servers on loopback, with routes between them.
 *
 * A missing binary fails the test with the command that installs it: these tests are never skipped.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

const CANDIDATES = ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"];
/** How long a server may take to say it is ready (a cluster member waits for its routes too). */
const READY_TIMEOUT_MS = 15_000;

export function natsServerBinary(): string {
  const found = [process.env.NATS_SERVER_BIN, ...CANDIDATES].find((file) => file && existsSync(file));
  if (!found) {
    throw new Error(
      "nats-server is not installed; these tests need a real one. Install it with: apt-get install -y nats-server",
    );
  }
  return found;
}

/** A port nothing listens on right now (the kernel's choice); the server binds it a moment later. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== "object" || address === null) throw new Error("no port from the kernel");
  return address.port;
}

export interface NatsServerOptions {
  /** Default: a fresh temporary directory, removed by dispose(). */
  storeDir?: string;
  port?: number;
  /** A configuration file's text, written next to the store; `-c` is then passed. */
  config?: string;
  /** Extra command-line arguments. */
  args?: string[];
}

export class NatsServer {
  readonly port: number;
  readonly storeDir: string;
  readonly #args: string[];
  readonly #ownsStore: boolean;
  #child: ChildProcess | undefined;
  #log = "";

  private constructor(port: number, storeDir: string, args: string[], ownsStore: boolean) {
    this.port = port;
    this.storeDir = storeDir;
    this.#args = args;
    this.#ownsStore = ownsStore;
  }

  static async start(options: NatsServerOptions = {}): Promise<NatsServer> {
    natsServerBinary();
    const ownsStore = options.storeDir === undefined;
    const storeDir = options.storeDir ?? (await mkdtemp(path.join(tmpdir(), "patchbay-nats-")));
    const port = options.port ?? (await freePort());
    const args = ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", storeDir];
    if (options.config !== undefined) {
      const file = path.join(storeDir, `server-${port}.conf`);
      await writeFile(file, options.config);
      args.push("-c", file);
    }
    args.push(...(options.args ?? []));
    const server = new NatsServer(port, storeDir, args, ownsStore);
    await server.#spawn();
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** What the server printed (stderr), for an assertion message. */
  get log(): string {
    return this.#log;
  }

  /** SIGTERM, waiting for the exit. */
  async stop(): Promise<void> {
    await this.#signal("SIGTERM");
  }

  /** SIGKILL: what a crash or a lost node looks like. */
  async kill(): Promise<void> {
    await this.#signal("SIGKILL");
  }

  /** Starts again on the same port with the same store (after stop() or kill()). */
  async restart(): Promise<void> {
    if (this.running) await this.stop();
    await this.#spawn();
  }

  /** Kills the server if it runs and removes the store it created. */
  async dispose(): Promise<void> {
    if (this.running) await this.kill();
    if (this.#ownsStore) await rm(this.storeDir, { recursive: true, force: true });
  }

  async #spawn(): Promise<void> {
    const child = spawn(natsServerBinary(), this.#args, { stdio: ["ignore", "ignore", "pipe"] });
    this.#child = child;
    let ready = false;
    const readyLine = new Promise<void>((resolve, reject) => {
      child.stderr!.setEncoding("utf8");
      child.stderr!.on("data", (chunk: string) => {
        // Keep the tail only: a long test must not grow this without bound.
        this.#log = (this.#log + chunk).slice(-20_000);
        if (!ready && this.#log.includes("Server is ready")) {
          ready = true;
          resolve();
        }
      });
      child.once("exit", (code, signal) => {
        if (!ready)
          reject(new Error(`nats-server exited before it was ready (${code ?? signal}):\n${this.#log}`));
      });
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        readyLine,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`nats-server not ready within ${READY_TIMEOUT_MS} ms:\n${this.#log}`)),
            READY_TIMEOUT_MS,
          );
        }),
      ]);
      await waitForPort(this.port);
    } catch (error) {
      child.kill("SIGKILL");
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  async #signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill(signal);
    await exited;
  }
}

/** Resolves once a TCP connection to the port succeeds (the server answers with its INFO line). */
async function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const connected = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once("data", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
      socket.connect(port, "127.0.0.1");
    });
    if (connected) return;
    if (Date.now() > deadline) throw new Error(`nothing answers on 127.0.0.1:${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A JetStream cluster of `size` servers on loopback, each routed to all others. */
export class NatsCluster {
  readonly servers: NatsServer[];
  readonly #root: string;

  private constructor(servers: NatsServer[], root: string) {
    this.servers = servers;
    this.#root = root;
  }

  static async start(size = 3): Promise<NatsCluster> {
    natsServerBinary();
    const root = await mkdtemp(path.join(tmpdir(), "patchbay-nats-cluster-"));
    const clientPorts: number[] = [];
    const routePorts: number[] = [];
    for (let i = 0; i < size; i++) {
      clientPorts.push(await freePort());
      routePorts.push(await freePort());
    }
    const routes = routePorts.map((port) => `nats-route://127.0.0.1:${port}`);
    // Servers wait for their peers' routes before "ready": start them together.
    const servers = await Promise.all(
      clientPorts.map(async (port, i) => {
        const storeDir = path.join(root, `n${i}`);
        const config = [
          `server_name: n${i}`,
          `cluster {`,
          `  name: patchbay-test`,
          `  listen: 127.0.0.1:${routePorts[i]}`,
          `  routes: [${routes.filter((_, j) => j !== i).join(", ")}]`,
          `}`,
        ].join("\n");
        await mkdir(storeDir, { recursive: true });
        return NatsServer.start({ port, storeDir, config });
      }),
    );
    return new NatsCluster(servers, root);
  }

  /** Every server's URL, comma-separated, as --event-bus takes it. */
  get url(): string {
    return this.servers.map((server) => server.url).join(",");
  }

  async dispose(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.dispose()));
    await rm(this.#root, { recursive: true, force: true });
  }
}
