/**
 * The compiled build: `patchbay local` from dist/ (what the image runs: `npm run build`'s JavaScript, no
 * type stripping) against the same program run from its TypeScript sources, and both against a bare
 * `node` process — idle RSS of the host, of the host with its plugin processes (compiled plugins for the
 * compiled host), and start-up time until the ingress listens. The build is made first, so the figures
 * never come from a stale dist/. Each round starts the three back to back, in a rotating order.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import type { Benchmark, BenchContext } from "./harness/benchmark.ts";
import { descendantsOf, MiB, REPO_ROOT, settledRss, sleep, stopProcess } from "./harness/processes.ts";
import { figure, type Figure, type Round } from "./harness/results.ts";

const run = promisify(execFile);
const PLUGINS = 3;

interface Measured {
  startupMs: number;
  hostRss: number;
  totalRss: number;
}

/** Spawns `args` and waits for the line on stderr that says it is ready; resolves with the time taken. */
async function startUntil(
  args: string[],
  isReady: (line: string) => boolean,
  what: string,
): Promise<{ child: ChildProcess; startupMs: number }> {
  const began = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, PATCHBAY_LOG_LEVEL: "info" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const lines = createInterface({ input: child.stderr! });
  let startupMs = 0;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not get ready within 60 s`)), 60_000);
    child.once("exit", (code) => reject(new Error(`${what} exited with ${code} while starting`)));
    let ready = false;
    // Every line goes to isReady, also after the first "ready": callers keep counting from them.
    lines.on("line", (line) => {
      if (isReady(line) && !ready) {
        ready = true;
        startupMs = performance.now() - began;
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return { child, startupMs };
}

/** Starts `patchbay local` with `entry`, waits for its plugins to be Ready and for RSS to settle. */
async function measureLocal(entry: string, manifests: string, settleMs: number): Promise<Measured> {
  let readyPlugins = 0;
  let listening = false;
  const { child, startupMs } = await startUntil(
    [entry, "local", "--dir", manifests, "--port", "0", "--management-port", "0"],
    (line) => {
      if (line.includes('"message":"patchbay local is running"')) listening = true;
      if (line.includes('"message":"plugin state"') && line.includes('"phase":"Ready"')) readyPlugins++;
      return listening;
    },
    entry,
  );
  try {
    const deadline = Date.now() + 60_000;
    while (descendantsOf(child.pid!).length < PLUGINS || readyPlugins < PLUGINS) {
      if (Date.now() > deadline) throw new Error(`${entry}: plugins not Ready within 60 s`);
      await sleep(50);
    }
    const host = child.pid!;
    const [hostRss, totalRss] = await Promise.all([
      settledRss(() => [host], settleMs),
      settledRss(() => [host, ...descendantsOf(host)], settleMs),
    ]);
    return { startupMs, hostRss, totalRss };
  } finally {
    await stopProcess(child);
  }
}

async function measureBare(settleMs: number): Promise<Measured> {
  const { child, startupMs } = await startUntil(
    ["-e", "console.error('ready'); setInterval(() => {}, 1000)"],
    (line) => line === "ready",
    "bare node",
  );
  try {
    const hostRss = await settledRss(() => [child.pid!], settleMs);
    return { startupMs, hostRss, totalRss: hostRss };
  } finally {
    await stopProcess(child);
  }
}

/** config/local with each bundled plugin run from dist/plugins/<name>/main.js. */
async function compiledManifests(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "patchbay-bench-compiled-"));
  const source = path.join(REPO_ROOT, "config/local");
  for (const file of await readdir(source)) {
    const manifest = await readFile(path.join(source, file), "utf8");
    await writeFile(
      path.join(dir, file),
      manifest.replace(/"plugins\/([a-z-]+)\/main\.ts"/g, '"dist/plugins/$1/main.js"'),
    );
  }
  return dir;
}

export const compiled: Benchmark = {
  name: "compiled",
  async run(ctx: BenchContext): Promise<Figure[]> {
    const settleMs = ctx.quick ? 1_500 : 10_000;
    ctx.log("npm run build");
    await run("npm", ["run", "build"], { cwd: REPO_ROOT });
    const manifests = await compiledManifests();
    const rounds: { compiled: Measured; typescript: Measured; bare: Measured }[] = [];
    try {
      for (let round = 0; round < ctx.rounds; round++) {
        const steps = {
          compiled: () => measureLocal("dist/src/cli/main.js", manifests, settleMs),
          typescript: () => measureLocal("src/cli/main.ts", path.join(REPO_ROOT, "config/local"), settleMs),
          bare: () => measureBare(settleMs),
        };
        const order = (["compiled", "typescript", "bare"] as const).map(
          (_, i, all) => all[(i + round) % all.length]!,
        );
        const measured: Partial<Record<keyof typeof steps, Measured>> = {};
        for (const side of order) measured[side] = await steps[side]();
        const { compiled, typescript, bare } = measured as Record<keyof typeof steps, Measured>;
        ctx.log(
          `round ${round + 1}: idle host compiled ${(compiled.hostRss / MiB).toFixed(1)} MiB, TypeScript ${(typescript.hostRss / MiB).toFixed(1)} MiB, bare node ${(bare.hostRss / MiB).toFixed(1)} MiB; start-up ${compiled.startupMs.toFixed(0)} / ${typescript.startupMs.toFixed(0)} / ${bare.startupMs.toFixed(0)} ms`,
        );
        rounds.push({ compiled, typescript, bare });
      }
    } finally {
      await rm(manifests, { recursive: true, force: true });
    }
    const pairs = (
      value: (r: (typeof rounds)[number]) => number,
      baseline: (r: (typeof rounds)[number]) => number,
    ): Round[] => rounds.map((r) => ({ value: value(r), baseline: baseline(r) }));
    return [
      figure("compiled", ctx.command, {
        name: "patchbay local idle, host process, compiled (dist/)",
        unit: "MiB",
        baselineName: "bare node",
        rounds: pairs(
          (r) => r.compiled.hostRss / MiB,
          (r) => r.bare.hostRss / MiB,
        ),
        target: ({ value }) => ({ description: "< 80 MiB", met: value < 80 }),
      }),
      figure("compiled", ctx.command, {
        name: "patchbay local idle, host process, TypeScript sources",
        unit: "MiB",
        baselineName: "bare node",
        rounds: pairs(
          (r) => r.typescript.hostRss / MiB,
          (r) => r.bare.hostRss / MiB,
        ),
      }),
      figure("compiled", ctx.command, {
        name: `patchbay local idle, host + ${PLUGINS} plugin processes, compiled`,
        unit: "MiB",
        baselineName: "the same from TypeScript sources",
        rounds: pairs(
          (r) => r.compiled.totalRss / MiB,
          (r) => r.typescript.totalRss / MiB,
        ),
      }),
      figure("compiled", ctx.command, {
        name: "patchbay local start-up until the ingress listens, compiled",
        unit: "ms",
        baselineName: "bare node start-up",
        rounds: pairs(
          (r) => r.compiled.startupMs,
          (r) => r.bare.startupMs,
        ),
        withDelta: true,
      }),
      figure("compiled", ctx.command, {
        name: "patchbay local start-up until the ingress listens, TypeScript sources",
        unit: "ms",
        baselineName: "bare node start-up",
        rounds: pairs(
          (r) => r.typescript.startupMs,
          (r) => r.bare.startupMs,
        ),
        withDelta: true,
      }),
    ];
  },
};
