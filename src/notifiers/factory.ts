/** A Notifier spec to a ready sink: its secrets resolved, its URL checked. */
import type { Writable } from "node:stream";
import { validateNotifierSpec, type NotifierSpec, type ValueSource } from "../api/v1alpha1/index.ts";
import type { SecretResolver } from "../secrets/index.ts";
import { DiscordSink } from "./discord.ts";
import { LogSink } from "./log.ts";
import { MattermostSink } from "./mattermost.ts";
import { actionKeyFromToken } from "../mattermost/action-context.ts";
import { MattermostApi } from "../mattermost/api.ts";
import { MattermostBotSink } from "./mattermost-bot.ts";
import type { NotifierSink } from "./sink.ts";
import { SlackSink } from "./slack.ts";
import { SlackAppSink, type SlackThreadRoot } from "./slack-app.ts";
import { SlackWebApi } from "../slack/web-api.ts";
import type { ThreadStore } from "./thread-roots.ts";
import { TeamsSink } from "./teams.ts";
import { WebhookSink } from "./webhook.ts";

export interface SinkDependencies {
  secrets: SecretResolver;
  /** The Notifier's namespace, for Secret references. */
  namespace?: string;
  /** Where the log notifier writes; default stdout. */
  logStream?: Writable;
  /**
   * Where the Slack and Mattermost app notifiers remember their threads' root messages; pass these for the
   * life of the process so that rebuilding a sink (any Notifier change rebuilds them all) keeps its
   * threads. Default: per sink.
   */
  slackThreads?: ThreadStore<SlackThreadRoot>;
  mattermostThreads?: ThreadStore<string>;
  /** The Notifier's name; a Mattermost bot's buttons carry it. */
  name?: string;
}

export class NotifierConfigError extends Error {
  override name = "NotifierConfigError";
}

/** Rejects with a NotifierConfigError naming the field when the spec is invalid or a secret cannot be resolved. */
export async function createNotifierSink(spec: NotifierSpec, deps: SinkDependencies): Promise<NotifierSink> {
  const problems = validateNotifierSpec(spec);
  if (problems.length > 0) throw new NotifierConfigError(problems.join("; "));
  const url = (source: ValueSource, field: string) => resolveUrl(deps, source, field);
  switch (spec.type) {
    case "slack": {
      const { webhookUrl, botToken, channel, apiUrl } = spec.slack!;
      if (webhookUrl) return new SlackSink(await url(webhookUrl, "spec.slack.webhookUrl"));
      // The schema holds botToken and channel when webhookUrl is absent.
      const token = await botTokenOf(deps, botToken!);
      const api = new SlackWebApi({ token, apiUrl: apiUrl && checkedUrl(apiUrl, "spec.slack.apiUrl") });
      return new SlackAppSink({ api, channel: channel!, threads: deps.slackThreads });
    }
    case "mattermost": {
      const { webhookUrl, serverUrl, botToken, channelId, actionsUrl, ...options } = spec.mattermost!;
      if (webhookUrl) {
        return new MattermostSink(await url(webhookUrl, "spec.mattermost.webhookUrl"), options);
      }
      // The schema's rules guarantee the bot mode's three fields when there is no webhookUrl.
      const token = await resolveToken(deps, botToken!, "spec.mattermost.botToken");
      if (actionsUrl && !deps.name) {
        throw new NotifierConfigError(
          "spec.mattermost.actionsUrl: a button's URL names its Notifier; none given",
        );
      }
      return new MattermostBotSink(new MattermostApi(serverUrl!, token), {
        notifier: deps.name ?? "",
        channelId: channelId!,
        actionsUrl,
        actionKey: actionKeyFromToken(token),
        threads: deps.mattermostThreads,
      });
    }
    case "teams":
      return new TeamsSink(await url(spec.teams!.webhookUrl, "spec.teams.webhookUrl"));
    case "discord": {
      const { webhookUrl, ...options } = spec.discord!;
      return new DiscordSink(await url(webhookUrl, "spec.discord.webhookUrl"), options);
    }
    case "webhook": {
      const webhook = spec.webhook!;
      const headers: Record<string, string> = {};
      for (const [name, source] of Object.entries(webhook.headers ?? {})) {
        headers[name] = await resolve(deps, source, `spec.webhook.headers.${name}`);
      }
      return new WebhookSink(await url(webhook.url, "spec.webhook.url"), {
        mode: webhook.mode ?? "json",
        headers,
      });
    }
    case "log":
      return new LogSink(deps.logStream);
  }
}

async function resolve(deps: SinkDependencies, source: ValueSource, field: string): Promise<string> {
  try {
    return await deps.secrets.resolve(source, deps.namespace);
  } catch (error) {
    throw new NotifierConfigError(`${field}: ${(error as Error).message}`);
  }
}

/** The bot token, refused (without showing it) when it cannot be one: an app-level token cannot post. */
async function botTokenOf(deps: SinkDependencies, source: ValueSource): Promise<string> {
  const field = "spec.slack.botToken";
  const token = await resolveToken(deps, source, field);
  if (token.startsWith("xapp-")) {
    throw new NotifierConfigError(
      `${field}: this is an app-level token (xapp-…), which cannot post messages; use the app's bot token (xoxb-…)`,
    );
  }
  return token;
}

/** A token sent in a header: one line, not empty (a Secret's trailing newline is dropped). */
async function resolveToken(deps: SinkDependencies, source: ValueSource, field: string): Promise<string> {
  const value = (await resolve(deps, source, field)).trim();
  if (value === "" || /\s/.test(value)) {
    throw new NotifierConfigError(`${field}: the resolved token is empty or contains whitespace`);
  }
  return value;
}

async function resolveUrl(deps: SinkDependencies, source: ValueSource, field: string): Promise<string> {
  return checkedUrl(await resolve(deps, source, field), field);
}

function checkedUrl(value: string, field: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    // Never echo the value: a webhook URL is the secret.
    throw new NotifierConfigError(`${field}: the resolved value is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new NotifierConfigError(`${field}: the resolved URL must be http or https (got ${url.protocol})`);
  }
  if (url.username !== "" || url.password !== "") {
    // Credentials in a URL end up wherever the URL is printed; a header from a Secret stays a secret.
    throw new NotifierConfigError(
      `${field}: the URL must not carry credentials (user:password@); remove them and send them as a header from a Secret instead (a webhook notifier's spec.webhook.headers, e.g. Authorization: { secretKeyRef: { name: ..., key: ... } })`,
    );
  }
  return url.href;
}
