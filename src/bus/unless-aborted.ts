/**
 * A delivery's settlement, or `whenAborted` as soon as the subscription's signal aborts (stop() has
 * handed the event back, so the handler's answer no longer counts, and a handler that ignores the
 * signal must not hold up the stop).
 *
 * Not a race against one promise kept for the subscription's life: every race leaves a reaction on
 * each promise it is given, and one that never settles keeps them all — a closure, a context and two
 * promises per delivery, which grew the host ~35 MiB per 250,000 events. Here the losing side is made
 * per call and dropped with it, and the listener is removed.
 */
export async function unlessAborted<T>(work: Promise<T>, signal: AbortSignal, whenAborted: T): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined);
    return whenAborted;
  }
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<T>((resolve) => {
    onAbort = () => resolve(whenAborted);
    signal.addEventListener("abort", onAbort);
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort!);
  }
}
