/** echo: an executor that answers with its arguments — for demos and tests. */
import { setTimeout as sleep } from "node:timers/promises";
import { ExecutorError, serveExecutor } from "@patchbay/sdk";

interface EchoConfig {
  upperCase: boolean;
}

await serveExecutor<EchoConfig>({
  name: "echo",
  version: "1.0.0",
  description: "Echoes its arguments back.",
  configSchema: {
    type: "object",
    additionalProperties: false,
    properties: { upperCase: { type: "boolean", default: false, description: "Shout the answer." } },
  },
  async execute({ args, config, signal }) {
    const [, first, ...rest] = args;
    // "echo --sleep <ms> …" lets tests and demos see deadlines at work.
    if (first === "--sleep") {
      await sleep(Number(rest.shift()), undefined, { signal }).catch(() => {});
      if (signal.aborted) throw new ExecutorError("timeout", "cancelled by the caller");
    } else if (first !== undefined) rest.unshift(first);
    if (rest.length === 0) throw new ExecutorError("invalid-argument", "usage: echo <text>");
    const text = rest.join(" ");
    return config.upperCase ? text.toUpperCase() : text;
  },
  help: () => "echo <text> — answers with <text>.\necho --sleep <ms> <text> — waits first.",
});
