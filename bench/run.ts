/**
 * `npm run bench [-- --quick] [-- --only ingress,router] [-- --rounds N] [-- --profile]`
 * Runs the benchmarks, prints the table and writes bench/results/latest.json. Every figure is paired
 * with a baseline measured in the same run; the ratio is the number to track.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import type { Benchmark } from "./harness/benchmark.ts";
import { REPO_ROOT } from "./harness/processes.ts";
import { formatTable, machine, writeReport, type BenchmarkReport, type Figure } from "./harness/results.ts";
import { ingress } from "./ingress.ts";
import { router } from "./router.ts";
import { fanout } from "./fanout.ts";
import { dispatch } from "./dispatch.ts";
import { memory } from "./memory.ts";
import { reconcile } from "./reconcile.ts";
import { compiled } from "./compiled.ts";
import { eventbus } from "./eventbus.ts";

const BENCHMARKS: Benchmark[] = [ingress, router, fanout, dispatch, memory, reconcile, compiled, eventbus];

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    rounds: { type: "string" },
    profile: { type: "boolean", default: false },
    output: { type: "string", default: path.join(REPO_ROOT, "bench/results/latest.json") },
  },
});

const only = values.only?.split(",").map((name) => name.trim());
const unknown = only?.filter((name) => !BENCHMARKS.some((b) => b.name === name)) ?? [];
if (unknown.length > 0) {
  console.error(
    `unknown benchmark ${unknown.join(", ")}; known: ${BENCHMARKS.map((b) => b.name).join(", ")}`,
  );
  process.exit(2);
}
const selected = BENCHMARKS.filter((b) => !only || only.includes(b.name));
const rounds = values.rounds ? Number(values.rounds) : values.quick ? 3 : 5;
const profileDir = path.join(REPO_ROOT, "bench/results/profiles");

const startedAt = new Date();
const figures: Figure[] = [];
const problems: BenchmarkReport["problems"] = [];
for (const benchmark of selected) {
  const began = performance.now();
  const command = `npm run bench -- ${values.quick ? "--quick " : ""}--only ${benchmark.name}`;
  console.error(`▶ ${benchmark.name}`);
  try {
    figures.push(
      ...(await benchmark.run({
        quick: values.quick,
        rounds,
        command,
        profileFlags: (label) =>
          values.profile
            ? ["--cpu-prof", `--cpu-prof-dir=${path.join(profileDir, benchmark.name, label)}`]
            : [],
        log: (message) => console.error(`  ${benchmark.name}: ${message}`),
      })),
    );
  } catch (err) {
    const message = (err as Error)?.stack ?? String(err);
    console.error(`  ${benchmark.name} failed: ${message}`);
    problems.push({ benchmark: benchmark.name, message: (err as Error)?.message ?? String(err) });
  }
  console.error(`  ${benchmark.name}: ${((performance.now() - began) / 1000).toFixed(1)} s`);
}

const report: BenchmarkReport = {
  startedAt: startedAt.toISOString(),
  finishedAt: new Date().toISOString(),
  quick: values.quick,
  machine: machine(),
  figures,
  problems,
};
writeReport(values.output, report);
console.log(formatTable(figures));
for (const problem of problems) console.log(`${problem.benchmark}: NOT MEASURED: ${problem.message}`);
console.log(`\n${figures.length} figures written to ${path.relative(process.cwd(), values.output)}`);
process.exitCode = problems.length > 0 ? 1 : 0;
