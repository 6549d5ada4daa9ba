/**
 * Commands a notification offers as buttons (an Action in button mode: nothing runs by itself, the
 * person who clicks runs it, under their access). Carried in the `patchbayoffers` extension attribute as
 * JSON, set by Patchbay only — the edges strip it from what producers send, so no event can bring buttons
 * of its own — and read by the Slack and Mattermost app notifiers, which add one button each.
 */
import type { CloudEvent } from "../events/cloudevent.ts";

export const OFFERS_EXTENSION = "patchbayoffers";
/** Buttons offered at most per notification, beside Describe. */
export const MAX_OFFERS = 4;

export interface CommandOffer {
  /** The button's text: the Action's name. */
  label: string;
  /** The command line the button runs, each argument quoted as the dispatcher reads it back. */
  command: string;
}

/** The event offering these commands (the first MAX_OFFERS); unchanged when there are none. */
export function withOffers(event: CloudEvent, offers: readonly CommandOffer[]): CloudEvent {
  if (offers.length === 0) return event;
  return { ...event, [OFFERS_EXTENSION]: JSON.stringify(offers.slice(0, MAX_OFFERS)) };
}

/** The commands the event offers; none when the attribute is absent or not what withOffers writes. */
export function offersOf(event: CloudEvent): CommandOffer[] {
  const raw = event[OFFERS_EXTENSION];
  if (typeof raw !== "string") return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  return parsed
    .filter(
      (offer): offer is CommandOffer =>
        typeof offer === "object" &&
        offer !== null &&
        typeof (offer as CommandOffer).label === "string" &&
        typeof (offer as CommandOffer).command === "string" &&
        (offer as CommandOffer).command.trim() !== "",
    )
    .slice(0, MAX_OFFERS);
}
