/** What a benchmark module exports, and what the runner gives it. */
import type { Figure } from "./results.ts";

export interface BenchContext {
  /** `--quick`: shorter windows, fewer rounds, fewer events; the whole run stays under two minutes. */
  quick: boolean;
  /** Rounds per pair (each round measures the subject and its baseline back to back). */
  rounds: number;
  /** The command that reproduces this benchmark's figures. */
  command: string;
  /** Node flags for a process under test: with `--profile`, a CPU profile in bench/results/profiles/<label>/. */
  profileFlags(label: string): string[];
  log(message: string): void;
}

export interface Benchmark {
  name: string;
  run(ctx: BenchContext): Promise<Figure[]>;
}

/** Runs `pair` once per round, swapping which side goes first every other round to spread drift evenly. */
export async function interleaved<T>(
  rounds: number,
  subject: () => Promise<T>,
  baseline: () => Promise<T>,
): Promise<{ subject: T; baseline: T }[]> {
  const results: { subject: T; baseline: T }[] = [];
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      const b = await baseline();
      const s = await subject();
      results.push({ subject: s, baseline: b });
    } else {
      const s = await subject();
      const b = await baseline();
      results.push({ subject: s, baseline: b });
    }
  }
  return results;
}
