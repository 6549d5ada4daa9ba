/**
 * `npm run lint` as part of `npm test`: CI runs only the test command, and a type error once reached
 * main because nothing ran `tsc` there. Each check runs the project's own binary from node_modules.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { describe, it } from "node:test";

const bin = (name: string) => path.resolve("node_modules/.bin", name);

/** Runs a check to completion; resolves with its exit code and everything it printed. */
function check(command: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(bin(command), args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

describe("npm run lint", { concurrency: true }, () => {
  it("tsc --noEmit finds no type error", async () => {
    const { code, output } = await check("tsc", ["--noEmit"]);
    assert.equal(code, 0, output);
  });

  it("eslint finds no problem", async () => {
    const { code, output } = await check("eslint", ["."]);
    assert.equal(code, 0, output);
  });

  it("prettier finds every file formatted (`npm run format` fixes it)", async () => {
    const { code, output } = await check("prettier", ["--check", "."]);
    assert.equal(code, 0, output);
  });
});
