/**
 * POST /commands {"command": "...", "user"?: "..."}. The HTTP status follows the command's status:
 * ok 200, failed 200 (the executor ran the command and it failed — the exchange itself succeeded),
 * invalid 400, forbidden 403, unknown-command 404, unavailable 503, timeout 504. Whatever the status,
 * the body is the command result; when it is not "ok" it also carries the common `error` object.
 */
import type { CommandStatus } from "../commands/index.ts";
import { readBody } from "./body.ts";
import type { Handler } from "./context.ts";
import { HttpError, sendJson } from "./http-errors.ts";

const statusCodes: Record<CommandStatus, number> = {
  ok: 200,
  failed: 200,
  invalid: 400,
  forbidden: 403,
  "unknown-command": 404,
  unavailable: 503,
  timeout: 504,
};

export const handleCommand: Handler = async (ctx, req, res) => {
  ctx.authenticate(req);
  if (!ctx.commands) throw new HttpError(404, "not-found", "this server does not dispatch commands");
  const body = await readBody(req, ctx.maxBodyBytes);
  const { command, user } = parseCommandBody(body);
  const result = await ctx.commands.dispatch({ command, user: user ?? "" });
  const answer: Record<string, unknown> = {
    executor: result.executor,
    status: result.status,
    output: result.output,
    truncated: result.truncated,
  };
  if (result.message !== undefined) answer.message = result.message;
  if (result.status !== "ok") answer.error = { code: result.status, message: result.error };
  sendJson(res, statusCodes[result.status], answer);
};

function parseCommandBody(body: Buffer): { command: string; user: string | undefined } {
  let value: unknown;
  try {
    value = JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw new HttpError(
      400,
      "malformed",
      `the body must be JSON like {"command": "kubectl get pods"}: ${(err as Error).message}`,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HttpError(
      400,
      "malformed",
      'the body must be a JSON object like {"command": "kubectl get pods"}',
    );
  }
  const { command, user } = value as Record<string, unknown>;
  if (typeof command !== "string") {
    throw new HttpError(400, "malformed", '"command" is required and must be a string');
  }
  if (user !== undefined && typeof user !== "string") {
    throw new HttpError(400, "malformed", '"user" must be a string when present');
  }
  return { command, user };
}
