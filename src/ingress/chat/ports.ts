import type { MattermostButtons } from "../../notifiers/mattermost-bot.ts";

/** What the chat endpoints need to know about a Notifier; the lead wires it to the Notifier CR's spec.commands. */
export interface ChatChannel {
  /** The Notifier's type, e.g. "slack" or "mattermost". */
  type: string;
  /** Executor names commands from this channel may use; undefined means all. */
  allowedExecutors?: string[];
  /** Already resolved from its Secret; present when Slack slash commands are configured. */
  slackSigningSecret?: string;
  /** Already resolved from its Secret; present when Mattermost slash commands are configured. */
  mattermostToken?: string;
  /**
   * The origin (scheme://host[:port]) of the Mattermost server this notifier posts to, from its webhook
   * URL: a Mattermost response_url there is allowed (see response-url.ts).
   */
  mattermostServerOrigin?: string;
  /**
   * A Mattermost notifier in bot mode: the REST API its button answers are posted through, and the key
   * its button contexts are signed with (mattermost-action-context.ts).
   */
  mattermostBot?: MattermostButtons;
}

export interface ChatChannels {
  /** undefined when no Notifier has this name. */
  lookup(notifierName: string): ChatChannel | undefined;
}
