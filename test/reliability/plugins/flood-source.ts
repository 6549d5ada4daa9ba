/**
 * A source that produces events as fast as the host takes them, each with a unique id and a 1 KiB
 * payload. Every 100 ms it writes how many it has produced to FLOOD_COUNT_FILE, so a test can compare
 * production with what the host received (backpressure keeps the two close).
 */
import { renameSync, writeFileSync } from "node:fs";
import { serveSource } from "@patchbay/sdk";

const countFile = process.env.FLOOD_COUNT_FILE;
let produced = 0;
const padding = "x".repeat(1024);
// Written aside and renamed, so a reader never sees a half-written file.
const publish = (file: string) => {
  writeFileSync(`${file}.tmp`, String(produced));
  renameSync(`${file}.tmp`, file);
};
if (countFile) setInterval(() => publish(countFile), 100).unref();

await serveSource({
  name: "flood",
  version: "1.0.0",
  async *stream({ signal }) {
    while (!signal.aborted) {
      produced++;
      yield {
        id: `flood-${process.pid}-${produced}`,
        type: "dev.patchbay.flood",
        data: { n: produced, padding },
      };
    }
  },
});
