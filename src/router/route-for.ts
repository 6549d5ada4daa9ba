/** A Notifier resource and its sink as the router's route: the one mapping `local` and the operator share. */
import type { Notifier } from "../api/v1alpha1/index.ts";
import type { NotifierSink } from "../notifiers/index.ts";
import type { NotifierRoute } from "./worker.ts";

export function routeFor(notifier: Notifier, sink: NotifierSink): NotifierRoute {
  const { type, sources, filter, delivery } = notifier.spec;
  return { name: notifier.metadata.name, type, sources, filter, delivery, sink };
}
