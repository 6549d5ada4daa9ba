/**
 * cloudevents: the "noop" source of the original proposal. It produces nothing itself; it registers a
 * name so that the ingress accepts CloudEvents posted to /events whose `source` is that name,
 * optionally only some types. Any CloudEvents producer (Keptn, Argo Events, a CI job) can then feed it.
 */
import { serveSource, type SourceEvent } from "@patchbay/sdk";

interface CloudEventsConfig {
  /** Accepted types; a trailing "*" matches any suffix. Empty: every type. */
  allowedTypes: string[];
}

await serveSource<CloudEventsConfig>({
  name: "cloudevents",
  version: "1.0.0",
  description: "Accepts CloudEvents posted to the Patchbay ingress under this source's name.",
  configSchema: {
    type: "object",
    additionalProperties: false,
    properties: {
      allowedTypes: {
        type: "array",
        default: [],
        uniqueItems: true,
        description:
          'CloudEvents types the ingress accepts for this source; a trailing "*" matches any suffix (e.g. "sh.keptn.event.*"). Empty: every type.',
        items: { type: "string", pattern: "^[^*\\s]+\\*?$|^\\*$" },
      },
    },
  },
  acceptCloudEvents: (config) => ({ allowedTypes: config.allowedTypes }),
  // The host opens a stream for every source; this one has nothing to say, so it stays open and quiet
  // until the host goes away (rather than failing, which the host would retry with backoff forever).
  stream: ({ signal }) => idleUntil(signal),
});

function idleUntil(signal: AbortSignal): AsyncIterable<SourceEvent> {
  const aborted = new Promise<IteratorResult<SourceEvent>>((resolve) => {
    const done = () => resolve({ done: true, value: undefined });
    if (signal.aborted) done();
    else signal.addEventListener("abort", done, { once: true });
  });
  return { [Symbol.asyncIterator]: () => ({ next: () => aborted }) };
}
