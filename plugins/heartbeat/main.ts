/**
 * heartbeat: a source that emits one event per interval. Ids are the tick number since the epoch,
 * so after a reconnect it resends the beats the host missed (up to `maxReplay`) without keeping state.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { serveSource } from "@patchbay/sdk";

interface HeartbeatConfig {
  intervalSeconds: number;
  message: string;
  maxReplay: number;
}

await serveSource<HeartbeatConfig>({
  name: "heartbeat",
  version: "1.0.0",
  description: "Emits a heartbeat event every intervalSeconds.",
  resumable: true,
  configSchema: {
    type: "object",
    additionalProperties: false,
    properties: {
      intervalSeconds: { type: "number", minimum: 0.01, default: 5, description: "Seconds between beats." },
      message: { type: "string", default: "still alive", description: "Text carried by each beat." },
      maxReplay: { type: "integer", minimum: 0, default: 100, description: "Missed beats resent on resume." },
    },
  },
  async *stream({ config, resumeAfterId, signal }) {
    const intervalMs = config.intervalSeconds * 1000;
    const now = Math.floor(Date.now() / intervalMs);
    const resumed = Number(resumeAfterId?.replace("beat-", "")) + 1;
    let tick = Number.isInteger(resumed) ? Math.max(resumed, now - config.maxReplay) : now;
    while (!signal.aborted) {
      const due = tick * intervalMs;
      if (due > Date.now()) await sleep(due - Date.now(), undefined, { signal }).catch(() => {});
      if (signal.aborted) return;
      yield {
        id: `beat-${tick}`,
        type: "dev.patchbay.heartbeat",
        time: new Date(due),
        severity: "info",
        data: { message: config.message, tick },
      };
      tick++;
    }
  },
});
