/**
 * Who may run what through a chat channel. The person, as the platform names them, is looked up in the
 * Notifier's `spec.commands.access` rules: the first rule that names them, directly or through one of
 * `spec.commands.groups`, gives the executors they may use and the Kubernetes identity the kubectl
 * executor impersonates for them. With rules set, someone no rule names may use nothing; without rules,
 * everyone in the channel may use what the channel may (today's behaviour).
 */

/** The Kubernetes identity an executor acts as for this person (kubectl's `--as` and `--as-group`). */
export interface Impersonation {
  user: string;
  groups: string[];
}

/** The part of a Notifier's `spec.commands` that decides who may run what. */
export interface CommandAccessConfig {
  /** Group name → members (chat user ids or names). */
  groups?: Record<string, string[]>;
  access?: AccessRule[];
}

export interface AccessRule {
  users?: string[];
  groups?: string[];
  executors: string[];
  kubernetes?: { user: string; groups?: string[] };
}

/** What one person may do in one channel, when the channel has access rules. */
export interface PersonAccess {
  /** How the person is named back to them in a refusal. */
  user: string;
  /** The executors they may use; empty when no rule names them. */
  executors: readonly string[];
  /** Whether a rule names them (an empty `executors` then is a deliberate refusal). */
  named: boolean;
  impersonation?: Impersonation;
}

/**
 * The access of the person known by `identities` (e.g. a Mattermost user name and user id; the first
 * is the one a refusal shows), or undefined when the channel has no access rules and so narrows nothing.
 */
export function resolveAccess(
  config: CommandAccessConfig | undefined,
  identities: readonly string[],
): PersonAccess | undefined {
  if (!config?.access) return undefined;
  const known = identities.filter((identity) => identity !== "");
  const user = known[0] ?? "unknown user";
  const isNamed = (members: readonly string[] | undefined) =>
    members?.some((member) => known.includes(member)) ?? false;
  const isInGroup = (groups: readonly string[] | undefined) =>
    groups?.some((group) => isNamed(memberList(config.groups, group))) ?? false;
  const rule = config.access.find((candidate) => isNamed(candidate.users) || isInGroup(candidate.groups));
  if (!rule) return { user, executors: [], named: false };
  const access: PersonAccess = { user, executors: rule.executors, named: true };
  if (rule.kubernetes)
    access.impersonation = { user: rule.kubernetes.user, groups: rule.kubernetes.groups ?? [] };
  return access;
}

/**
 * Why this person may not use `executor`, for them to read: what they would need and where it is
 * granted. It names only their own access, never what others may do.
 */
export function accessRefusal(access: PersonAccess, executor: string): string {
  const why = !access.named
    ? "no access rule of this channel names you"
    : access.executors.length === 0
      ? "your access rule grants no executor"
      : `your access covers only ${access.executors.map((name) => `"${name}"`).join(", ")}`;
  return `you (${access.user}) are not allowed to use the executor "${executor}" here: ${why}. To run this command you need access to "${executor}": ask the channel's admins to grant it in the Notifier's spec.commands.access`;
}

/** A group's members; a name that is not a group (or an inherited property name) has none. */
function memberList(groups: Record<string, string[]> | undefined, name: string): string[] | undefined {
  return groups && Object.hasOwn(groups, name) ? groups[name] : undefined;
}
