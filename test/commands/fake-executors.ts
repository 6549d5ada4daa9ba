/** An in-memory ExecutorDirectory for edge cases a real plugin cannot easily produce. */
import type { ExecutorAnswer, ExecutorDirectory, ExecutorInfo } from "../../src/commands/index.ts";

export interface FakeExecutor extends Partial<ExecutorInfo> {
  name: string;
  prefixes: string[];
  run?: (request: Parameters<ExecutorDirectory["execute"]>[1], deadlineMs: number) => Promise<ExecutorAnswer>;
  helpText?: string | (() => Promise<string>);
}

export class FakeExecutorDirectory implements ExecutorDirectory {
  readonly calls: {
    name: string;
    request: Parameters<ExecutorDirectory["execute"]>[1];
    deadlineMs: number;
  }[] = [];
  readonly #executors: FakeExecutor[];

  constructor(executors: FakeExecutor[]) {
    this.#executors = executors;
  }

  list(): ExecutorInfo[] {
    return this.#executors.map((e) => ({
      name: e.name,
      prefixes: e.prefixes,
      aliases: e.aliases ?? {},
      ready: e.ready ?? true,
      reason: e.reason ?? "",
      timeoutMs: e.timeoutMs ?? 1_000,
    }));
  }

  async execute(
    name: string,
    request: Parameters<ExecutorDirectory["execute"]>[1],
    deadlineMs: number,
  ): Promise<ExecutorAnswer> {
    this.calls.push({ name, request, deadlineMs });
    const executor = this.#executors.find((e) => e.name === name)!;
    if (executor.run) return executor.run(request, deadlineMs);
    return { output: `${name}: ${request.args.join(" ")}`, errorCode: "ok", errorMessage: "" };
  }

  async help(name: string): Promise<string> {
    const text = this.#executors.find((e) => e.name === name)?.helpText ?? "";
    return typeof text === "string" ? text : text();
  }
}
