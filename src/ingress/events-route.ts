/** POST /events: CloudEvents in any content mode; 202 once every event of the request is routed (stored, with a bus). */
import { admit, admitWithinMemoryBudget } from "./admission.ts";
import { readBody } from "./body.ts";
import { decodeCloudEvents } from "./cloudevents.ts";
import type { Handler } from "./context.ts";
import { publishAll } from "./publish.ts";

export const handleEvents: Handler = async (ctx, req, res) => {
  ctx.authenticate(req);
  const body = await readBody(req, ctx.maxBodyBytes);
  // Before decoding: a request refused for memory should cost as little as possible.
  admitWithinMemoryBudget(ctx.sink, body.length);
  const { mode, events } = decodeCloudEvents(req.headers, body);
  // All or nothing: a batch is admitted only when every event in it is.
  for (let i = 0; i < events.length; i++) {
    admit(ctx.sources, events[i]!, mode === "batch" ? `event ${i} of the batch: ` : "");
  }
  await publishAll(ctx.sink, events);
  // Counted once per run of events from one source: labelled increments cost more than routing.
  let source = events[0]!.source;
  let count = 0;
  for (const event of events) {
    if (event.source !== source) {
      ctx.metrics.events.inc({ source, mode }, count);
      source = event.source;
      count = 0;
    }
    count++;
  }
  ctx.metrics.events.inc({ source, mode }, count);
  res.writeHead(202, { "content-length": "0" });
  res.end();
};
