/** What `patchbay local` checks before it starts anything, so that wrong input stops it with a reason. */
import { readdir, stat } from "node:fs/promises";
import { EVENT_FORMATS, type EventFormat } from "../notifiers/log.ts";

/**
 * A problem with --dir, or undefined when it is a folder holding at least one manifest file. Without
 * this, a mistyped folder would run a Patchbay with no plugins that looks healthy and does nothing.
 */
export async function checkManifestDirectory(directory: string): Promise<string | undefined> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(directory)).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === "ENOENT"
      ? `--dir ${directory}: no such folder`
      : `--dir ${directory}: cannot read it (${code ?? (err as Error).message})`;
  }
  if (!isDirectory) return `--dir ${directory}: not a folder`;
  let files: string[];
  try {
    files = await readdir(directory);
  } catch (err) {
    return `--dir ${directory}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  if (!files.some((file) => /\.ya?ml$/.test(file)))
    return `--dir ${directory} holds no manifests (*.yaml or *.yml files declaring SourcePlugins, ExecutorPlugins and Notifiers); try --dir config/local`;
  return undefined;
}

/**
 * How events print: --output, else $PATCHBAY_OUTPUT, else text when stdout is a terminal and JSON lines
 * otherwise (a pipe or a file is read by a program). A string is the problem with what was given.
 */
export function resolveOutput(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  stdoutIsTerminal = process.stdout.isTTY === true,
): { format: EventFormat } | string {
  const given = flag ?? (env.PATCHBAY_OUTPUT || undefined);
  if (given === undefined) return { format: stdoutIsTerminal ? "text" : "json" };
  if ((EVENT_FORMATS as readonly string[]).includes(given)) return { format: given as EventFormat };
  const source = flag === undefined ? "PATCHBAY_OUTPUT" : "--output";
  return `${source} must be one of ${EVENT_FORMATS.join(", ")}, not ${JSON.stringify(given)}`;
}
