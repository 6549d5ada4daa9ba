/** POST /events: CloudEvents in any content mode; 202 once every event of the request is routed. */
import { admit } from "./admission.ts";
import { readBody } from "./body.ts";
import { decodeCloudEvents } from "./cloudevents.ts";
import type { Handler } from "./context.ts";

export const handleEvents: Handler = async (ctx, req, res) => {
  ctx.authenticate(req);
  const body = await readBody(req, ctx.maxBodyBytes);
  const { mode, events } = decodeCloudEvents(req.headers, body);
  // All or nothing: a batch is admitted only when every event in it is.
  for (let i = 0; i < events.length; i++) {
    admit(ctx.sources, events[i]!, mode === "batch" ? `event ${i} of the batch: ` : "");
  }
  for (const event of events) {
    ctx.sink.publish(event);
    ctx.metrics.events.inc({ source: event.source, mode });
  }
  res.writeHead(202, { "content-length": "0" });
  res.end();
};
