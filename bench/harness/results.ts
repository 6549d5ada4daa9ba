/**
 * Figures, each paired with a baseline measured in the same run on the same machine. The ratio is the
 * number to track: absolute figures on a shared machine drift from run to run, ratios much less.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { median } from "./stats.ts";

export interface Round {
  value: number;
  baseline: number;
}

export interface Figure {
  benchmark: string;
  name: string;
  unit: string;
  /** Median over rounds. */
  value: number;
  baseline: { name: string; value: number };
  /** value / baseline, the median over rounds of each round's ratio. */
  ratio: number;
  /** value − baseline, where a difference is what the target speaks of (e.g. latency added). */
  delta?: number;
  target?: { description: string; met: boolean };
  rounds: Round[];
  /** Reproduces this figure. */
  command: string;
  notes?: string;
}

export interface FigureInput {
  name: string;
  unit: string;
  baselineName: string;
  rounds: Round[];
  notes?: string;
  withDelta?: boolean;
  target?: (figure: Pick<Figure, "value" | "ratio" | "delta" | "baseline">) => {
    description: string;
    met: boolean;
  };
}

export function figure(benchmark: string, command: string, input: FigureInput): Figure {
  const value = median(input.rounds.map((r) => r.value));
  const baselineValue = median(input.rounds.map((r) => r.baseline));
  const ratio = median(input.rounds.map((r) => r.value / r.baseline));
  const baseline = { name: input.baselineName, value: baselineValue };
  const delta = input.withDelta ? median(input.rounds.map((r) => r.value - r.baseline)) : undefined;
  return {
    benchmark,
    name: input.name,
    unit: input.unit,
    value,
    baseline,
    ratio,
    ...(delta === undefined ? {} : { delta }),
    ...(input.target ? { target: input.target({ value, ratio, delta, baseline }) } : {}),
    rounds: input.rounds,
    command,
    ...(input.notes ? { notes: input.notes } : {}),
  };
}

export interface BenchmarkReport {
  startedAt: string;
  finishedAt: string;
  quick: boolean;
  machine: { cpus: number; cpuModel: string; loadAverage: number[]; node: string; platform: string };
  figures: Figure[];
  /** Benchmarks that could not run, and why. */
  problems: { benchmark: string; message: string }[];
}

export function machine(): BenchmarkReport["machine"] {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    loadAverage: os.loadavg().map((n) => Math.round(n * 100) / 100),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}

export function writeReport(file: string, report: BenchmarkReport): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(report, null, 2) + "\n");
}

/** The figures as a fixed-width table for the terminal. */
export function formatTable(figures: readonly Figure[]): string {
  const header = ["benchmark", "figure", "value", "baseline", "ratio", "target"];
  const rows = figures.map((f) => [
    f.benchmark,
    f.name,
    `${formatNumber(f.value)} ${f.unit}`,
    `${formatNumber(f.baseline.value)} ${f.unit} (${f.baseline.name})`,
    f.delta === undefined
      ? formatRatio(f.ratio)
      : `${formatRatio(f.ratio)} (+${formatNumber(f.delta)} ${f.unit})`,
    f.target ? `${f.target.met ? "met" : "MISSED"}: ${f.target.description}` : "",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 100) return Math.round(n).toLocaleString("en-US");
  if (abs >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

function formatRatio(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}×` : String(r);
}
