/**
 * Where a slash command's answer may be posted. A response_url arrives in the request body, so whoever
 * can sign a request (or holds a Mattermost token) chooses it: left open, Patchbay would POST command
 * output to any address it can reach, its own ports and the cloud metadata service included. It is held
 * to the platform's own hosts — Slack's documented hooks.slack.com, the Mattermost server the notifier
 * posts to — plus a configured allow-list, and never to a loopback, link-local or unspecified address:
 * neither as written in the URL nor as DNS resolves the name when the connection is made.
 */
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { request as httpRequest, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import { BlockList, isIP, type LookupFunction } from "node:net";
import type { Platform } from "./reply.ts";

/** https://api.slack.com/interactivity/handling#message_responses */
export const SLACK_RESPONSE_HOSTS = ["hooks.slack.com"];

export interface ResponseUrlPolicy {
  /** Hosts a Slack response_url may name, https only. Default: hooks.slack.com. */
  slackHosts?: string[];
  /** Hosts a Mattermost response_url may name (https only), besides the notifier's own server. */
  mattermostHosts?: string[];
  /**
   * Exact origins (e.g. http://127.0.0.1:41234) accepted as they are, loopback included. Only for tests
   * that run the platform's stand-in on the same machine: no setting of the CLI or the operator sets it.
   */
  loopbackOriginsForTests?: string[];
  /** DNS resolution; default node:dns lookup. The connect-time check applies to whatever it returns. */
  lookup?: LookupFunction;
}

/** Reads PATCHBAY_SLACK_RESPONSE_URL_HOSTS and PATCHBAY_MATTERMOST_RESPONSE_URL_HOSTS (comma-separated). */
export function responseUrlPolicyFromEnv(env: NodeJS.ProcessEnv): ResponseUrlPolicy {
  const hosts = (text: string | undefined) =>
    text === undefined || text.trim() === ""
      ? undefined
      : text
          .split(",")
          .map((host) => host.trim())
          .filter(Boolean);
  return {
    slackHosts: hosts(env.PATCHBAY_SLACK_RESPONSE_URL_HOSTS),
    mattermostHosts: hosts(env.PATCHBAY_MATTERMOST_RESPONSE_URL_HOSTS),
  };
}

const FORBIDDEN_ADDRESSES = new BlockList();
FORBIDDEN_ADDRESSES.addSubnet("127.0.0.0", 8, "ipv4"); // loopback
FORBIDDEN_ADDRESSES.addSubnet("0.0.0.0", 8, "ipv4"); // "this network"; 0.0.0.0 reaches the local host
FORBIDDEN_ADDRESSES.addSubnet("169.254.0.0", 16, "ipv4"); // link-local, cloud metadata services
FORBIDDEN_ADDRESSES.addAddress("::1", "ipv6");
FORBIDDEN_ADDRESSES.addAddress("::", "ipv6");
FORBIDDEN_ADDRESSES.addSubnet("fe80::", 10, "ipv6"); // link-local
// IPv4-mapped IPv6 addresses are matched against the IPv4 rules by BlockList itself.

/** The error code of a connection refused because of the address DNS gave. */
export const ADDRESS_NOT_ALLOWED = "EADDRNOTALLOWED";

/** Why an address may not be connected to, or undefined when it may. */
export function forbiddenAddressReason(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return undefined;
  if (!FORBIDDEN_ADDRESSES.check(address, family === 4 ? "ipv4" : "ipv6")) return undefined;
  return `${address} is a loopback, link-local or unspecified address`;
}

export interface ResponseUrlTarget {
  platform: Platform;
  /** Mattermost: the origin of the server the notifier posts to (from its webhook URL), if known. */
  mattermostServerOrigin?: string;
}

/** Why this response_url may not be posted to, or undefined when it may. */
export function refusedResponseUrl(
  url: URL,
  target: ResponseUrlTarget,
  policy: ResponseUrlPolicy,
): string | undefined {
  if (policy.loopbackOriginsForTests?.includes(url.origin)) return undefined;
  if (url.username !== "" || url.password !== "") return "response_url carries credentials";
  const host = url.hostname
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "")
    .toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost")) return `${host} is this machine`;
  const literal = forbiddenAddressReason(host);
  if (literal) return literal;
  if (target.platform === "mattermost" && target.mattermostServerOrigin === url.origin) return undefined;
  const allowed =
    target.platform === "slack"
      ? (policy.slackHosts ?? SLACK_RESPONSE_HOSTS)
      : [...(policy.mattermostHosts ?? [])];
  const described =
    target.platform === "slack"
      ? `Slack's hosts (${allowed.join(", ")}; PATCHBAY_SLACK_RESPONSE_URL_HOSTS)`
      : `the notifier's Mattermost server${target.mattermostServerOrigin ? ` (${target.mattermostServerOrigin})` : " (unknown: the notifier has no mattermost.webhookUrl)"}${allowed.length ? ` or ${allowed.join(", ")}` : ""} (PATCHBAY_MATTERMOST_RESPONSE_URL_HOSTS)`;
  if (!allowed.some((entry) => entry.toLowerCase().replace(/\.$/, "") === host)) {
    return `response_url host ${host} is not one of ${described}`;
  }
  if (url.protocol !== "https:") return `response_url must use https, not ${url.protocol.slice(0, -1)}`;
  return undefined;
}

/**
 * POSTs a JSON body without following redirects, refusing at connect time any address DNS gives that is
 * loopback, link-local or unspecified (a name that resolves there would otherwise pass the host check).
 */
export function postJson(
  url: string,
  body: string,
  timeoutMs: number,
  policy: ResponseUrlPolicy,
): Promise<{ status: number }> {
  const target = new URL(url);
  const trusted = policy.loopbackOriginsForTests?.includes(target.origin) ?? false;
  const lookup = policy.lookup ?? (dnsLookup as LookupFunction);
  const options: RequestOptions = {
    method: "POST",
    headers: {
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(body),
    },
    timeout: timeoutMs,
    lookup: trusted ? lookup : guardedLookup(lookup),
  };
  const request = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(target, options, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0 }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(body);
  });
}

function guardedLookup(lookup: LookupFunction): LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname, options, (err, address, family) => {
      if (err) return callback(err, address, family);
      const addresses: LookupAddress[] = Array.isArray(address)
        ? address
        : [{ address: address as string, family: family ?? 4 }];
      for (const { address: resolved } of addresses) {
        const reason = forbiddenAddressReason(resolved);
        if (reason) {
          const refusal = Object.assign(new Error(`${hostname} resolves to ${reason}; refused`), {
            code: ADDRESS_NOT_ALLOWED,
          });
          return callback(refusal, "", 0);
        }
      }
      callback(null, address, family);
    });
  };
}
