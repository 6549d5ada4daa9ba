/** The bundled echo executor's behaviour, served in-process for tests (plugins/echo/main.ts serves itself on import). */
import { setTimeout as sleep } from "node:timers/promises";
import { ExecutorError, serveExecutor, type RunningPlugin } from "@patchbay/sdk";

export function serveEcho(name = "echo"): Promise<RunningPlugin> {
  return serveExecutor(
    {
      name,
      version: "1.0.0",
      description: "Echoes its arguments back.",
      async execute({ args, signal, context }) {
        const [, first, ...rest] = args;
        if (first === "--sleep") {
          await sleep(Number(rest.shift()), undefined, { signal }).catch(() => {});
          if (signal.aborted) throw new ExecutorError("timeout", "cancelled by the caller");
        } else if (first === "--whoami") {
          return `${context.user}|${context.notifier}|${context.channel}`;
        } else if (first === "--impersonation") {
          return JSON.stringify(context.impersonation ?? null);
        } else if (first === "--repeat") {
          return String(rest[1] ?? "x").repeat(Number(rest[0]));
        } else if (first === "--forbid") {
          throw new ExecutorError("forbidden", "echo refuses this");
        } else if (first !== undefined) rest.unshift(first);
        if (rest.length === 0) throw new ExecutorError("invalid-argument", "usage: echo <text>");
        return rest.join(" ");
      },
      help: () => "echo <text> — answers with <text>.",
    },
    { inProcess: true, address: "127.0.0.1:0", shutdownGraceMs: 200 },
  );
}
