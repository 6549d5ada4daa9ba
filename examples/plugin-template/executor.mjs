// An executor: answers `greet <name>`. Run with plain `node executor.mjs`.
import { ExecutorError, serveExecutor } from "@patchbay/sdk";

await serveExecutor({
  name: "greet",
  version: "1.0.0",
  description: "Greets whoever you name",
  configSchema: {
    type: "object",
    properties: { greeting: { type: "string", minLength: 1, default: "Hello" } },
    additionalProperties: false,
  },
  execute({ args, config }) {
    const [, ...names] = args; // args[0] is the prefix, "greet"
    if (names.length === 0) throw new ExecutorError("invalid-argument", "say whom to greet: greet <name>");
    return `${config.greeting}, ${names.join(" ")}!`;
  },
  help: () => "greet <name>: says hello",
});
