/** An executor that answers with who asked, through which notifier and channel, and what followed its prefix. */
import { serveExecutor } from "@patchbay/sdk";

await serveExecutor({
  name: "whoami",
  version: "1.0.0",
  execute({ args, context }) {
    return `${context.user}|${context.notifier}|${context.channel}|${args.slice(1).join(" ")}`;
  },
  help: () => "whoami [text] — answers with who asked and the text.",
});
