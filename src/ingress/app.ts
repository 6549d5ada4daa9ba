/**
 * The ingress as an express application:
 *   POST /events                     CloudEvents (structured, binary, batch) → the router
 *   *    /sources/<name>/<path…>     forwarded to that source plugin's HandleExternalRequest
 *   POST /commands                   {"command": "..."} → the command dispatcher
 *   POST /chat/slack/<notifier>      Slack slash commands
 *   POST /chat/slack/<notifier>/events, /chat/slack/<notifier>/interactivity   Slack app mentions, buttons
 *   POST /chat/mattermost/<notifier> Mattermost slash commands
 *   POST /chat/mattermost/<notifier>/actions  Mattermost button clicks (bot notifiers)
 * Every answer that is not a success is { "error": { "code", "message" } } (see http-errors.ts).
 */
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import express, { type NextFunction, type Request, type Response } from "express";
import { Registry } from "prom-client";
import { createLogger, type Logger } from "../observability/logger.ts";
import { bearerAuthenticator, type AuthConfig } from "./auth.ts";
import { handleMattermostAction } from "./chat/mattermost-actions.ts";
import { handleSlackEvents, handleSlackInteractivity } from "./chat/slack-app.ts";
import { handleMattermostCommand, handleSlackCommand } from "./chat/slash-commands.ts";
import type { ChatChannels } from "./chat/ports.ts";
import type { ResponseUrlPolicy } from "./chat/response-url.ts";
import { SlackReplayCache } from "./chat/verify.ts";
import { handleCommand } from "./commands-route.ts";
import type { CommandRunner, Handler, IngressContext } from "./context.ts";
import { handleEvents } from "./events-route.ts";
import { HttpError, sendError, toHttpError } from "./http-errors.ts";
import { LogThrottle } from "./log-throttle.ts";
import { ingressMetrics } from "./metrics.ts";
import type { EventSink, SourceDirectory } from "./ports.ts";
import { handleSourceRequest } from "./sources-route.ts";

export interface IngressDeps {
  sources: SourceDirectory;
  /** The router: receives every accepted event. */
  sink: EventSink;
  /** Serves /commands and the chat endpoints; without it they answer 404. */
  commands?: CommandRunner;
  /** Notifiers' chat settings; without it the chat endpoints answer 404. */
  chat?: ChatChannels;
  /** Bearer tokens for /events, /sources and /commands; none configured means no authentication. */
  auth?: AuthConfig;
  /** Metrics go here; default a private registry. */
  registry?: Registry;
  log?: Logger;
  /** Largest request body accepted, in bytes. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Deadline for a source's HandleExternalRequest. Default 10 s. */
  externalRequestTimeoutMs?: number;
  /** Deadline for posting a chat answer to its response_url. Default 10 s. */
  chatReplyTimeoutMs?: number;
  /** Where chat answers may be posted; default Slack's hooks.slack.com and each Mattermost notifier's server. */
  responseUrls?: ResponseUrlPolicy;
}

type Route =
  | "events"
  | "sources"
  | "commands"
  | "chat-slack"
  | "chat-slack-events"
  | "chat-slack-interactivity"
  | "chat-mattermost"
  | "chat-mattermost-actions"
  | "other";

export function createIngressApp(deps: IngressDeps): RequestListener {
  const log = deps.log ?? createLogger("ingress");
  const ctx: IngressContext = {
    sources: deps.sources,
    sink: deps.sink,
    commands: deps.commands,
    chat: deps.chat,
    authenticate: bearerAuthenticator(deps.auth),
    maxBodyBytes: deps.maxBodyBytes ?? 1024 * 1024,
    externalRequestTimeoutMs: deps.externalRequestTimeoutMs ?? 10_000,
    chatReplyTimeoutMs: deps.chatReplyTimeoutMs ?? 10_000,
    responseUrls: deps.responseUrls ?? {},
    slackReplays: new SlackReplayCache(),
    metrics: ingressMetrics(deps.registry ?? new Registry()),
    log: new LogThrottle(log),
  };
  const serve = (route: Route, handler: Handler, methods?: string[]) => {
    return (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      const done = () => ctx.metrics.requests.inc({ route, code: String(res.statusCode) });
      if (methods && !methods.includes(req.method ?? "")) {
        return Promise.resolve(fail(ctx, route, res, methodNotAllowed(req, methods))).then(done);
      }
      return handler(ctx, req, res).then(done, (err: unknown) => {
        fail(ctx, route, res, err);
        done();
      });
    };
  };

  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.set("query parser", false);
  const events = serve("events", handleEvents, ["POST"]);
  app.all("/events", events);
  app.use("/sources", serve("sources", handleSourceRequest));
  app.all("/commands", serve("commands", handleCommand, ["POST"]));
  app.all("/chat/slack/:notifier/events", serve("chat-slack-events", handleSlackEvents, ["POST"]));
  app.all(
    "/chat/slack/:notifier/interactivity",
    serve("chat-slack-interactivity", handleSlackInteractivity, ["POST"]),
  );
  app.all("/chat/slack/{*rest}", serve("chat-slack", handleSlackCommand, ["POST"]));
  app.all(
    "/chat/mattermost/:notifier/actions",
    serve("chat-mattermost-actions", handleMattermostAction, ["POST"]),
  );
  app.all("/chat/mattermost/{*rest}", serve("chat-mattermost", handleMattermostCommand, ["POST"]));
  app.use((req: Request, res: Response) => {
    fail(
      ctx,
      "other",
      res,
      new HttpError(404, "not-found", `no route for ${req.method} ${req.path}; ${ROUTES}`),
    );
    ctx.metrics.requests.inc({ route: "other", code: "404" });
  });
  // Errors raised by express itself (e.g. a malformed %-escape in the path) get the same JSON shape.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    fail(ctx, "other", res, err);
    ctx.metrics.requests.inc({ route: "other", code: String(res.statusCode) });
  });
  // POST /events is the hot path: express's routing and middleware cost more than decoding the event,
  // so the exact route goes straight to its handler; anything else (other methods, variants) to express.
  return (req, res) => {
    if (req.method === "POST" && req.url === "/events") void events(req, res);
    else app(req, res);
  };
}

const ROUTES =
  "the ingress serves POST /events, /sources/<name>/<path>, POST /commands, POST /chat/slack/<notifier>[/events|/interactivity], POST /chat/mattermost/<notifier>[/actions]";

function methodNotAllowed(req: IncomingMessage, methods: string[]): HttpError {
  const path = (req.url ?? "/").split("?")[0];
  return new HttpError(
    405,
    "method-not-allowed",
    `${req.method} is not allowed on ${path}; use ${methods.join(", ")}`,
    {
      allow: methods.join(", "),
    },
  );
}

function fail(ctx: IngressContext, route: Route, res: ServerResponse, err: unknown): void {
  const error = toHttpError(err);
  if (error.status >= 500) {
    ctx.log.warn(`${route}:${error.code}`, "request failed", {
      route,
      code: error.code,
      error: (err as Error)?.message ?? String(err),
    });
  } else {
    ctx.log.debug(`${route}:${error.code}`, "request refused", {
      route,
      status: error.status,
      code: error.code,
      error: error.message,
    });
  }
  sendError(res, error);
}
