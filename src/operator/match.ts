/**
 * Fields the API server never defaults: when the desired object leaves one out, the live one must not
 * have it either (removing `command` from a plugin must take it off the container).
 */
const NEVER_DEFAULTED = ["command", "args", "env"];

/**
 * Whether a live object already has what the operator wants. The API server adds defaults
 * (imagePullPolicy, terminationMessagePath, clusterIP, …), so a live object matches when every field
 * the desired one sets is equal, recursively, and it has none of NEVER_DEFAULTED that the desired one
 * lacks; lists must have the same length and match item by item.
 */
export function matchesDesired(live: unknown, desired: unknown): boolean {
  if (desired === undefined) return true;
  if (Array.isArray(desired)) {
    return (
      Array.isArray(live) &&
      live.length === desired.length &&
      desired.every((item, index) => matchesDesired(live[index], item))
    );
  }
  if (typeof desired === "object" && desired !== null) {
    if (typeof live !== "object" || live === null || Array.isArray(live)) return false;
    const record = live as Record<string, unknown>;
    const extra = NEVER_DEFAULTED.some((key) => !(key in desired) && isSet(record[key]));
    return (
      !extra && Object.entries(desired).every(([key, value]) => matchesDesired(liveField(record, key), value))
    );
  }
  // Ports and quantities may come back as numbers or strings ("1" vs 1).
  return live === desired || (live !== undefined && live !== null && String(live) === String(desired));
}

/**
 * client-node's models call a NetworkPolicy rule's `from` `_from` (a reserved word): an object listed
 * through them has `_from`, one from a watch event the wire's `from`. The informer's cache holds both.
 */
function liveField(record: Record<string, unknown>, key: string): unknown {
  return key === "_from" && !(key in record) ? record.from : record[key];
}

function isSet(value: unknown): boolean {
  return value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0);
}
