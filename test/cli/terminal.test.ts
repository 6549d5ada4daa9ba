/**
 * `patchbay local` at a terminal (a pseudo-terminal from util-linux's `script`): events as one readable
 * line each, logs in the short text format, all within 80 columns for events; `--output json` keeps JSON
 * lines there too. The README's screen recording is replayed: what it shows `npm start` printing, the
 * curl and `patchbay exec` answers must be what a person really gets.
 */
/* eslint-disable no-control-regex -- a terminal's output is checked for its colour escapes */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { plainLines, runInTerminal, type TerminalRun } from "../support/terminal.ts";
import { waitFor } from "../support/wait.ts";

const CLI = path.resolve("src/cli/main.ts");
const run = promisify(execFile);
const local = (...flags: string[]) =>
  [process.execPath, CLI, "local", "--port", "0", "--management-port", "0", ...flags].join(" ");

/** What varies from run to run: the clock, ports, process ids, heartbeat ticks. */
function normalise(line: string): string {
  return line
    .replace(/\b\d\d:\d\d:\d\d\b/g, "HH:MM:SS")
    .replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:PORT")
    .replace(/pid=\d+/g, "pid=N")
    .replace(/tick=\d*/g, "tick=N");
}

describe("patchbay local at a terminal", () => {
  let terminal: TerminalRun;
  let url = "";

  before(async () => {
    terminal = runInTerminal(local());
    url = await waitFor(() => /ingress=(http:\/\/127\.0\.0\.1:\d+)/.exec(terminal.output())?.[1], {
      what: "the ingress URL in the log",
    });
  });
  after(() => terminal.interrupt());

  it("prints each event as one readable line: time, severity in colour, source, type, data", async () => {
    const line = await waitFor(
      () =>
        terminal
          .output()
          .split("\r\n")
          .find((text) => text.includes("dev.patchbay.heartbeat")),
      { what: "a heartbeat line", timeoutMs: 15_000 },
    );
    assert.match(
      line,
      /^\d\d:\d\d:\d\d \x1b\[32minfo\x1b\[0m {4}heartbeat dev\.patchbay\.heartbeat message="hello from patchbay …$/,
    );
    assert.ok(plainLines(line)[0]!.length <= 80, "an event line fits the terminal's 80 columns");
  });

  it("logs in the short text format, the level in colour", () => {
    assert.match(
      terminal.output(),
      /^\d\d:\d\d:\d\d \x1b\[36minfo \x1b\[0m patchbay local is running directory=config\/local ingress=http:\/\/127\.0\.0\.1:\d+ /m,
    );
    assert.doesNotMatch(terminal.output(), /"message":"patchbay local is running"/);
  });

  it("matches the README's screen recording: npm start, then curl, then patchbay exec", async () => {
    const readme = await readFile("README.md", "utf8");
    const recording =
      /<!-- recording: checked by test\/cli\/terminal\.test\.ts -->\n+```console\n([\s\S]*?)```/.exec(
        readme,
      )?.[1];
    assert.ok(recording, "the README has the recording block");
    // Split into commands ("$ …") and what each printed.
    const steps: { command: string; output: string[] }[] = [];
    for (const line of recording.trimEnd().split("\n")) {
      if (line.startsWith("$ ")) steps.push({ command: line.slice(2), output: [] });
      else steps.at(-1)!.output.push(line);
    }
    assert.deepEqual(
      steps.map((step) => step.command.split(" ").slice(0, 2).join(" ")),
      ["npm start", "curl -s", "npx patchbay"],
    );
    const [start, curl, exec] = steps as [(typeof steps)[0], (typeof steps)[0], (typeof steps)[0]];

    const port = new URL(url).port;
    const curlCommand = curl.command.replace("127.0.0.1:8080", `127.0.0.1:${port}`);
    // The demo source answers 503 until its plugin has connected; the README shows the answer after that.
    const curlAnswer = await waitFor(
      async () => {
        const { stdout } = await run("bash", ["-c", curlCommand]);
        return stdout.startsWith("503") ? undefined : stdout;
      },
      { what: "the demo source to accept the README's event" },
    );
    assert.deepEqual(curlAnswer.trimEnd().split("\n"), curl.output);
    const [program, subcommand, ...args] = exec.command.replace(/^npx patchbay /, "patchbay ").split(" ");
    assert.deepEqual([program, subcommand], ["patchbay", "exec"]);
    const execAnswer = await run(process.execPath, [CLI, "exec", ...JSON.parse(`[${args.join(" ")}]`)], {
      env: { ...process.env, PATCHBAY_URL: url },
    });
    assert.deepEqual(execAnswer.stdout.trimEnd().split("\n"), exec.output);

    // npm's own banner (its "> script" lines) is printed by npm, not by Patchbay: the test runs the CLI.
    const expected = start.output.filter((line) => line !== "" && !line.startsWith("> "));
    for (const line of expected) {
      const want = normalise(line);
      // A line ending in … is shown cut short in the README (the rest varies, or is long): a prefix.
      const matches = (actual: string) =>
        want.endsWith("…") ? actual.startsWith(want.slice(0, -1)) : actual === want;
      await waitFor(() => plainLines(terminal.output()).map(normalise).some(matches), {
        what: `the README's line ${JSON.stringify(line)}`,
        timeoutMs: 15_000,
      });
    }
  });
});

describe("patchbay local --output json at a terminal", () => {
  it("prints events as JSON lines although stdout is a terminal", async (t) => {
    const terminal = runInTerminal(local("--output", "json"));
    t.after(() => terminal.interrupt());
    const line = await waitFor(
      () => plainLines(terminal.output()).find((text) => text.includes('"type":"dev.patchbay.heartbeat"')),
      { what: "a heartbeat as JSON", timeoutMs: 15_000 },
    );
    const event = JSON.parse(line) as { specversion: string; source: string };
    assert.deepEqual([event.specversion, event.source], ["1.0", "heartbeat"]);
    // Logs follow the events: JSON too.
    assert.match(terminal.output(), /"message":"patchbay local is running"/);
  });
});
