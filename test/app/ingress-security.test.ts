/**
 * The data plane's side of issue 17: who may use the ingress without tokens (findings 6), and where a
 * Mattermost notifier's command answers may go (finding 4).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import winston from "winston";
import type { Notifier } from "../../src/api/v1alpha1/index.ts";
import { DataPlane } from "../../src/app/index.ts";
import { LocalSecretResolver } from "../../src/secrets/index.ts";

const silent = () => winston.createLogger({ silent: true });

async function withPlane<T>(
  ingress: { host: string; allowAnonymous?: boolean },
  body: (plane: DataPlane) => Promise<T>,
): Promise<T> {
  const plane = new DataPlane({
    ingress: { port: 0, ...ingress },
    management: { host: "127.0.0.1", port: 0 },
    secrets: new LocalSecretResolver(),
    log: silent(),
  });
  await plane.start();
  try {
    return await body(plane);
  } finally {
    await plane.stop(100);
  }
}

const help = (plane: DataPlane) =>
  fetch(`${plane.ingressUrl}/commands`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ command: "help" }),
  });

describe("an ingress without tokens", () => {
  it("is refused beyond this machine when anonymous use is not allowed (the operator's default)", async () => {
    await withPlane({ host: "0.0.0.0", allowAnonymous: false }, async (plane) => {
      const response = await help(plane);
      assert.equal(response.status, 503);
      const { error } = (await response.json()) as { error: { code: string; message: string } };
      assert.equal(error.code, "ingress-tokens-required");
      assert.match(error.message, /PATCHBAY_INGRESS_ALLOW_ANONYMOUS=true/);
    });
  });

  it("stays open on loopback, and where anonymous use is allowed (patchbay local's default)", async () => {
    for (const ingress of [
      { host: "127.0.0.1", allowAnonymous: false },
      { host: "0.0.0.0" },
      { host: "0.0.0.0", allowAnonymous: true },
    ]) {
      await withPlane(ingress, async (plane) => {
        const response = await help(plane);
        assert.equal(response.status, 200, JSON.stringify(ingress));
      });
    }
  });
});

describe("Mattermost command answers", () => {
  it("may go to the server the notifier posts to, and nowhere else", async () => {
    await withPlane({ host: "127.0.0.1" }, async (plane) => {
      const notifier = {
        apiVersion: "patchbay.dev/v1alpha1",
        kind: "Notifier",
        metadata: { name: "team-mm" },
        spec: {
          type: "mattermost",
          mattermost: { webhookUrl: { value: "https://mm.example.com/hooks/incoming-1" } },
          commands: { mattermost: { token: { value: "mm-token" } } },
        },
      } as unknown as Notifier;
      assert.deepEqual(await plane.setNotifiers([notifier]), []);
      const post = (responseUrl: string) =>
        fetch(`${plane.ingressUrl}/chat/mattermost/team-mm`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({
            token: "mm-token",
            text: "help",
            response_url: responseUrl,
          }).toString(),
        });
      // The notifier's own server: acknowledged now, answered through response_url later.
      const own = (await (await post("https://mm.example.com/hooks/reply-1")).json()) as { text: string };
      assert.match(own.text, /^Running `help` …$/);
      // Elsewhere: answered in the response, with the reason, and nothing is posted.
      const elsewhere = (await (await post("https://other.example.com/hooks/reply-1")).json()) as {
        text: string;
      };
      assert.match(
        elsewhere.text,
        /not posted to response_url: response_url host other\.example\.com is not one of the notifier's Mattermost server \(https:\/\/mm\.example\.com\)/,
      );
    });
  });
});
