/** A source plugin whose stream stays open and quiet: what 200 external SourcePlugins point at. */
import { serveSource, type SourceEvent } from "@patchbay/sdk";
import { serveRpc } from "../harness/rpc.ts";

const plugin = await serveSource(
  {
    name: "idle",
    version: "1.0.0",
    stream: ({ signal }) => ({
      [Symbol.asyncIterator]: () => ({
        next: () =>
          new Promise<IteratorResult<SourceEvent>>((resolve) =>
            signal.addEventListener("abort", () => resolve({ done: true, value: undefined }), { once: true }),
          ),
      }),
    }),
  },
  { address: "127.0.0.1:0", inProcess: true },
);
serveRpc({}, { address: plugin.address });
process.once("SIGTERM", () => process.exit(0));
