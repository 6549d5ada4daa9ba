/** Notifier sinks: render one event for a platform and send it in one request. */
export { createNotifierSink, NotifierConfigError } from "./factory.ts";
export type { SinkDependencies } from "./factory.ts";
export { DELIVERED } from "./sink.ts";
export { attemptDelivery } from "./attempt.ts";
export type { DeliveryOutcome, NotifierSink } from "./sink.ts";
export { SlackSink, renderSlack, SLACK_LIMITS } from "./slack.ts";
export { MattermostSink, renderMattermost, MATTERMOST_LIMITS } from "./mattermost.ts";
export type { MattermostOptions } from "./mattermost.ts";
export { TeamsSink, renderTeams, TEAMS_LIMITS } from "./teams.ts";
export { DiscordSink, renderDiscord, DISCORD_LIMITS } from "./discord.ts";
export type { DiscordOptions } from "./discord.ts";
export { WebhookSink, renderWebhook } from "./webhook.ts";
export type { WebhookOptions, RenderedRequest } from "./webhook.ts";
export { LogSink } from "./log.ts";
export { parseRetryAfter } from "./http.ts";
