/** An executor whose `hang` command never returns (it ignores cancellation); `ping` answers at once. */
import { serveExecutor } from "@patchbay/sdk";

await serveExecutor({
  name: "hang",
  version: "1.0.0",
  execute({ args }) {
    if (args[1] === "ping") return "pong";
    return new Promise<string>(() => {});
  },
});
