/**
 * Mattermost as a bot account: posts through the REST API v4 (mattermost-api.ts) into one channel,
 * with the webhook mode's message attachment (renderMattermost). Events about the same thing
 * (threads.ts) go into one thread: the first event's post is the root and later ones reply to it; a
 * resolving event marks the root resolved (PUT /api/v4/posts/{id}/patch) and replies in the thread.
 * With an actions URL, a notification about a Kubernetes object offers a Describe button whose signed
 * context the ingress verifies before running the command (src/mattermost/action-context.ts).
 */
import type { CloudEvent } from "../events/cloudevent.ts";
import { describeCommandOf } from "./object-commands.ts";
import { offersOf } from "./offers.ts";
import { ThreadRoots, type ThreadStore } from "./thread-roots.ts";
import { signActionContext } from "../mattermost/action-context.ts";
import type { ApiResult, MattermostApi } from "../mattermost/api.ts";
import { renderMattermost } from "./mattermost.ts";
import { mattermost } from "./markup.ts";
import { DELIVERED, type DeliveryOutcome, type NotifierSink } from "./sink.ts";
import { threadKeyOf } from "./threads.ts";

export interface MattermostBotOptions {
  /** The Notifier's name: it is part of the button's URL and of its signature. */
  notifier: string;
  channelId: string;
  /** Patchbay's ingress as Mattermost reaches it; without it, no buttons. */
  actionsUrl?: string;
  /** Signs button contexts (actionKeyFromToken). */
  actionKey: Buffer;
  /**
   * Thread key → root post id. Shared by the sinks of one process so a reconfigured notifier keeps its
   * threads (any Notifier change rebuilds every sink); default: this sink's own.
   */
  threads?: ThreadStore<string>;
}

/** What the button endpoint needs of a bot notifier: where answers are posted, and the context key. */
export interface MattermostButtons {
  api: MattermostApi;
  actionKey: Buffer;
}

/** A resolved root keeps its content but shows it is over, in green. */
const RESOLVED_COLOUR = "#2eb886";

export class MattermostBotSink implements NotifierSink {
  readonly type = "mattermost";
  readonly #api: MattermostApi;
  readonly #options: MattermostBotOptions;
  /**
   * In this process only (thread-roots.ts). The router and the bus deliver one event at a time per
   * notifier, so two events never race for a root.
   */
  readonly #roots: ThreadStore<string>;

  constructor(api: MattermostApi, options: MattermostBotOptions) {
    this.#api = api;
    this.#options = options;
    this.#roots = options.threads ?? new ThreadRoots();
  }

  /** For POST /chat/mattermost/<notifier>/actions (src/ingress/chat/mattermost-actions.ts). */
  get buttons(): MattermostButtons {
    return { api: this.#api, actionKey: this.#options.actionKey };
  }

  async deliver(event: CloudEvent, signal: AbortSignal): Promise<DeliveryOutcome> {
    const found = threadKeyOf(event);
    // Threads are per channel: two notifiers posting the same event to two channels each get one.
    const thread = found && { ...found, key: `${this.#options.channelId}\n${found.key}` };
    let rootId = thread ? await this.#roots.get(thread.key) : undefined;
    if (thread?.resolves && rootId) {
      const patched = await this.#api.patchPost(rootId, this.#resolvedRoot(event), signal);
      if (!patched.ok && patched.status !== 404) return patched.outcome;
      // A root deleted in Mattermost (404): the resolution is posted on its own.
      if (!patched.ok) rootId = await this.#forget(thread.key);
    }
    let posted = await this.#post(event, rootId, signal);
    if (!posted.ok && posted.status === 400 && rootId && thread) {
      // Mattermost refuses a root_id that names no root post (deleted): start the thread again.
      rootId = await this.#forget(thread.key);
      posted = await this.#post(event, undefined, signal);
    }
    if (!posted.ok) return posted.outcome;
    if (thread?.resolves) await this.#forget(thread.key);
    else if (thread && !rootId) await this.#roots.set(thread.key, posted.post.id);
    return DELIVERED;
  }

  #post(event: CloudEvent, rootId: string | undefined, signal: AbortSignal): Promise<ApiResult> {
    const { channelId } = this.#options;
    const attachments = [this.#attachment(event, rootId ?? "")];
    return this.#api.createPost(
      { channel_id: channelId, message: "", ...(rootId ? { root_id: rootId } : {}), props: { attachments } },
      signal,
    );
  }

  /**
   * The webhook mode's attachment (renderMattermost makes exactly one), plus its buttons when there is an
   * actions URL: Describe for a Kubernetes object, and one per command an Action offers (offers.ts).
   */
  #attachment(event: CloudEvent, rootId: string): Record<string, unknown> {
    const [attachment] = renderMattermost(event).attachments as [Record<string, unknown>];
    if (!this.#options.actionsUrl) return attachment;
    const describe = describeCommandOf(event);
    const buttons = [
      ...(describe ? [this.#button("describe", "Describe", describe, rootId)] : []),
      // Mattermost wants action ids of letters and digits only.
      ...offersOf(event).map((offer, i) => this.#button(`offer${i + 1}`, offer.label, offer.command, rootId)),
    ];
    if (buttons.length > 0) attachment.actions = buttons;
    return attachment;
  }

  #button(id: string, name: string, command: string, rootId: string): Record<string, unknown> {
    const { actionsUrl, notifier, channelId, actionKey } = this.#options;
    const url = `${actionsUrl!.replace(/\/+$/, "")}/chat/mattermost/${encodeURIComponent(notifier)}/actions`;
    const context = signActionContext(actionKey, notifier, {
      command,
      channel_id: channelId,
      root_id: rootId,
    });
    // A button's name is shown as written (no markdown); an Action's name is a Kubernetes name.
    return { id, name: name.slice(0, 64), type: "button", integration: { url, context } };
  }

  #resolvedRoot(event: CloudEvent): { message: string; props: Record<string, unknown> } {
    // The root keeps its button: the object is still worth a look once the alert is over.
    const attachment = { ...this.#attachment(event, ""), color: RESOLVED_COLOUR };
    return {
      message: `:white_check_mark: **Resolved** ${mattermost.text(event.time, 64)}`,
      props: { attachments: [attachment] },
    };
  }

  async #forget(key: string): Promise<undefined> {
    await this.#roots.delete(key);
    return undefined;
  }
}
