// A source: one event every `intervalSeconds`, numbered. Run with plain `node source.mjs`.
import { setTimeout as sleep } from "node:timers/promises";
import { serveSource } from "@patchbay/sdk";

await serveSource({
  name: "ticks",
  version: "1.0.0",
  description: "Counts, one event per interval",
  configSchema: {
    type: "object",
    properties: { intervalSeconds: { type: "number", minimum: 0.1, default: 5 } },
    additionalProperties: false,
  },
  async *stream({ sourceName, config, signal }) {
    // Ids must be unique within the source and stable on re-sends: the host dedups on (source, id).
    const run = Date.now();
    for (let tick = 1; !signal.aborted; tick++) {
      yield { id: `${sourceName}-${run}-${tick}`, type: "com.example.tick", data: { tick } };
      await sleep(config.intervalSeconds * 1000, undefined, { signal }).catch(() => {});
    }
  },
});
