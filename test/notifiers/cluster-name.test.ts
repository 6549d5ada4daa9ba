/**
 * The cluster's name in every message: a "Cluster" field first on every chat platform (from the shared
 * view), in the text a platform shows alone, in the log line, and as the patchbaycluster CloudEvent
 * extension on webhook deliveries. Without a name nothing changes.
 */
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { after, before, describe, it } from "node:test";
import { clusterNameOf } from "../../src/app/index.ts";
import type { WebhookMode } from "../../src/api/v1alpha1/index.ts";
import type { CloudEvent } from "../../src/events/cloudevent.ts";
import {
  createNotifierSink,
  renderDiscord,
  renderMattermost,
  renderSlack,
  renderTeams,
} from "../../src/notifiers/index.ts";
import { EventOutput, formatEventLine } from "../../src/notifiers/log.ts";
import { LocalSecretResolver } from "../../src/secrets/index.ts";
import { startReceiver, type Receiver } from "./receiver.ts";

const CLUSTER = "prod-eu-1";
const event: CloudEvent = {
  specversion: "1.0",
  id: "e-1",
  source: "prometheus",
  type: "dev.patchbay.alert.firing",
  time: "2026-12-01T04:00:00Z",
  severity: "critical",
  data: { annotations: { summary: "Disk almost full" } },
};

describe("the cluster's name", () => {
  it("is the first field on Slack, Mattermost, Teams and Discord, and absent when unset", () => {
    const slackFields = (options = {}) =>
      (
        (renderSlack(event, options).attachments as { blocks: { fields?: { text: string }[] }[] }[])[0]!
          .blocks[1]!.fields ?? []
      ).map((field) => field.text);
    assert.equal(slackFields({ cluster: CLUSTER })[0], `Cluster\n${CLUSTER}`);
    assert.ok(!slackFields().some((text) => text.startsWith("Cluster")));

    const mattermostFields = (options = {}) =>
      (renderMattermost(event, options).attachments as { fields: { title: string; value: string }[] }[])[0]!
        .fields;
    assert.deepEqual(mattermostFields({ cluster: CLUSTER })[0], {
      short: true,
      title: "Cluster",
      value: CLUSTER,
    });
    assert.equal(mattermostFields()[0]!.title, "Source");

    const teamsFacts = (options = {}) =>
      (
        renderTeams(event, options).attachments as {
          content: { body: { facts?: { title: string; value: string }[] }[] };
        }[]
      )[0]!.content.body[1]!.facts!;
    assert.deepEqual(teamsFacts({ cluster: CLUSTER })[0], { title: "Cluster", value: CLUSTER });
    assert.equal(teamsFacts()[0]!.title, "Source");

    const discordFields = (options = {}) =>
      (renderDiscord(event, options).embeds as { fields: { name: string; value: string }[] }[])[0]!.fields;
    assert.deepEqual(discordFields({ cluster: CLUSTER })[0], {
      name: "Cluster",
      value: CLUSTER,
      inline: true,
    });
    assert.equal(discordFields()[0]!.name, "Source");
  });

  it("leads the text Slack and Mattermost show where they show only text (notifications, fallbacks)", () => {
    assert.match(renderSlack(event, { cluster: CLUSTER }).text as string, /^\[prod-eu-1\] Disk almost full/);
    assert.match(renderSlack(event).text as string, /^Disk almost full/);
    const fallback = (options = {}) =>
      (renderMattermost(event, options).attachments as { fallback: string }[])[0]!.fallback;
    assert.match(fallback({ cluster: CLUSTER }), /^\[prod-eu-1\] Disk almost full/);
    assert.match(fallback(), /^Disk almost full/);
  });

  it("is in the log notifier's line, and an extension of its JSON", async () => {
    assert.match(
      formatEventLine(event, { cluster: CLUSTER }),
      /^\d\d:\d\d:\d\d critical \[prod-eu-1\] prometheus /,
    );
    assert.doesNotMatch(formatEventLine(event), /\[/);
    const lines: string[] = [];
    const stream = new PassThrough();
    stream.on("data", (chunk: Buffer) => lines.push(chunk.toString()));
    const sink = await createNotifierSink(
      { type: "log" },
      { secrets: new LocalSecretResolver(), logStream: new EventOutput(stream, "json"), cluster: CLUSTER },
    );
    await sink.deliver(event, AbortSignal.timeout(1_000));
    assert.equal((JSON.parse(lines.join("")) as Record<string, unknown>).patchbaycluster, CLUSTER);
  });

  describe("on webhook deliveries", () => {
    let receiver: Receiver;
    before(async () => {
      receiver = await startReceiver();
    });
    after(() => receiver.close());

    const deliver = async (mode: WebhookMode, cluster?: string) => {
      const sink = await createNotifierSink(
        { type: "webhook", webhook: { url: { value: receiver.url }, mode } },
        { secrets: new LocalSecretResolver(), cluster },
      );
      assert.deepEqual(await sink.deliver(event, AbortSignal.timeout(5_000)), { kind: "delivered" });
      return receiver.requests.at(-1)!;
    };

    it("is the patchbaycluster extension attribute in every mode", async () => {
      for (const mode of ["json", "cloudevents-structured"] as const) {
        const request = await deliver(mode, CLUSTER);
        assert.equal((JSON.parse(request.body) as Record<string, unknown>).patchbaycluster, CLUSTER, mode);
      }
      const binary = await deliver("cloudevents-binary", CLUSTER);
      assert.equal(binary.headers["ce-patchbaycluster"], CLUSTER);
      assert.equal(binary.headers["ce-id"], event.id);
    });

    it("is not sent when no cluster is named", async () => {
      const request = await deliver("json");
      assert.equal("patchbaycluster" in (JSON.parse(request.body) as object), false);
      assert.equal((await deliver("cloudevents-binary")).headers["ce-patchbaycluster"], undefined);
    });
  });

  it("is letters, digits, '.', '_' and '-', at most 63 characters; anything else is refused with the setting's name", () => {
    for (const good of ["prod-eu-1", "gke_project_europe-west1_main", "kind.local", "a"]) {
      assert.equal(clusterNameOf(good, "PATCHBAY_CLUSTER_NAME"), good);
    }
    assert.equal(clusterNameOf(undefined, "PATCHBAY_CLUSTER_NAME"), undefined);
    assert.equal(clusterNameOf("", "PATCHBAY_CLUSTER_NAME"), undefined);
    for (const bad of ["prod eu", "-prod", "prod-", "a".repeat(64), "@channel", "prod\n"]) {
      assert.throws(
        () => clusterNameOf(bad, "--cluster-name"),
        /^Error: --cluster-name must be 1 to 63 letters/,
        bad,
      );
    }
  });
});
