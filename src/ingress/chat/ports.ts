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
  /** Already resolved from its Secret; present when Slack slash commands are configured. */
  slackSigningSecret?: string;
  /** Already resolved from its Secret; present when Mattermost slash commands are configured. */
  mattermostToken?: string;
  /**
   * The origin (scheme://host[:port]) of the Mattermost server this notifier posts to, from its webhook
   * URL: a Mattermost response_url there is allowed (see response-url.ts).
   */
  mattermostServerOrigin?: string;
}

export interface ChatChannels {
  /** undefined when no Notifier has this name. */
  lookup(notifierName: string): ChatChannel | undefined;
}
