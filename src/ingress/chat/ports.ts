import type { MattermostButtons } from "../../notifiers/mattermost-bot.ts";
import type { CommandAccessConfig } from "../../commands/index.ts";

/** What the chat endpoints need to know about a Notifier; the lead wires it to the Notifier CR's spec.commands. */
export interface ChatChannel {
  /** The Notifier's type, e.g. "slack" or "mattermost". */
  type: string;
  /** Executor names commands from this channel may use; undefined means all. */
  allowedExecutors?: string[];
  /**
   * Who may use which executors (spec.commands.groups and .access). Every chat path resolves the person
   * who asked with resolveAccess (src/commands/access.ts) and passes the result to the dispatcher.
   */
  access?: CommandAccessConfig;
  /** Already resolved from its Secret; present when Slack's HTTP endpoints are configured. */
  slackSigningSecret?: string;
  /**
   * Present when the notifier posts as a Slack app (spec.slack.botToken): buttons and mentions that
   * arrive at /chat/slack/<notifier>/interactivity and /events run and are answered in their thread.
   */
  slackApp?: SlackAppRequests;
  /** Already resolved from its Secret; present when Mattermost slash commands are configured. */
  mattermostToken?: string;
  /**
   * The origin (scheme://host[:port]) of the Mattermost server this notifier posts to, from its webhook
   * URL: a Mattermost response_url there is allowed (see response-url.ts).
   */
  mattermostServerOrigin?: string;
  /**
   * A Mattermost notifier in bot mode: the REST API its button answers are posted through, and the key
   * its button contexts are signed with (src/mattermost/action-context.ts).
   */
  mattermostBot?: MattermostButtons;
}

export interface ChatChannels {
  /** undefined when no Notifier has this name. */
  lookup(notifierName: string): ChatChannel | undefined;
}

/** Slack's interactivity and Events API payloads, handled in the background (see src/slack/chat-requests.ts). */
export interface SlackAppRequests {
  /** Throws a MalformedSlackPayload when the payload is not what Slack sends. */
  handleInteraction(payload: unknown): void;
  /** Throws a MalformedSlackPayload when the callback is not what Slack sends. */
  handleEventCallback(body: unknown): void;
}
