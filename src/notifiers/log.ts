/** Each event as one JSON line on a stream (stdout by default): the notifier `patchbay local` starts with. */
import type { Writable } from "node:stream";
import type { CloudEvent } from "../events/cloudevent.ts";
import { DELIVERED, type DeliveryOutcome, type NotifierSink } from "./sink.ts";

export class LogSink implements NotifierSink {
  readonly type = "log";
  readonly #stream: Writable;

  constructor(stream: Writable = process.stdout) {
    this.#stream = stream;
  }

  deliver(event: CloudEvent, signal: AbortSignal): Promise<DeliveryOutcome> {
    let line: string;
    try {
      line = JSON.stringify(event) + "\n";
    } catch (error) {
      return Promise.resolve({
        kind: "permanent",
        reason: `cannot write the event as JSON: ${(error as Error).message}`,
      });
    }
    if (this.#stream.write(line)) return Promise.resolve(DELIVERED);
    // Backpressure: the line is buffered; wait for the stream before taking the next event.
    return new Promise((resolve) => {
      const done = (outcome: DeliveryOutcome) => {
        this.#stream.off("drain", onDrain);
        signal.removeEventListener("abort", onAbort);
        resolve(outcome);
      };
      const onDrain = () => done(DELIVERED);
      const onAbort = () => done(DELIVERED);
      this.#stream.once("drain", onDrain);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}
