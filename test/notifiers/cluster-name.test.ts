/**
 * The cluster's name in every message: the data plane hands each notifier its events with the
 * patchbaycluster extension set (namingCluster), and from there every chat platform shows a "Cluster"
 * field first and the name in the title (what a notification or a fallback shows alone), the log
 * prints it in its line, and webhook receivers get the attribute. Without a name nothing changes.
 */
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { after, before, describe, it } from "node:test";
import { clusterNameOf } from "../../src/app/index.ts";
import type { WebhookMode } from "../../src/api/v1alpha1/index.ts";
import { withCluster, type CloudEvent } from "../../src/events/cloudevent.ts";
import { namingCluster } from "../../src/notifiers/cluster.ts";
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
const plain: CloudEvent = {
  specversion: "1.0",
  id: "e-1",
  source: "prometheus",
  type: "dev.patchbay.alert.firing",
  time: "2026-12-01T04:00:00Z",
  severity: "critical",
  data: { annotations: { summary: "Disk almost full" } },
};
const named = withCluster(plain, CLUSTER);

describe("the cluster's name", () => {
  it("is the first field on Slack, Mattermost, Teams and Discord, and absent when unset", () => {
    const slackFields = (event: CloudEvent) =>
      (
        (renderSlack(event).attachments as { blocks: { fields?: { text: string }[] }[] }[])[0]!.blocks[1]!
          .fields ?? []
      ).map((field) => field.text);
    assert.equal(slackFields(named)[0], `Cluster\n${CLUSTER}`);
    assert.ok(!slackFields(plain).some((text) => text.startsWith("Cluster")));

    const mattermostFields = (event: CloudEvent) =>
      (renderMattermost(event).attachments as { fields: { title: string; value: string }[] }[])[0]!.fields;
    assert.deepEqual(mattermostFields(named)[0], { short: true, title: "Cluster", value: CLUSTER });
    assert.equal(mattermostFields(plain)[0]!.title, "Source");

    const teamsFacts = (event: CloudEvent) =>
      (
        renderTeams(event).attachments as {
          content: { body: { facts?: { title: string; value: string }[] }[] };
        }[]
      )[0]!.content.body[1]!.facts!;
    assert.deepEqual(teamsFacts(named)[0], { title: "Cluster", value: CLUSTER });
    assert.equal(teamsFacts(plain)[0]!.title, "Source");

    const discordFields = (event: CloudEvent) =>
      (renderDiscord(event).embeds as { fields: { name: string; value: string }[] }[])[0]!.fields;
    assert.deepEqual(discordFields(named)[0], { name: "Cluster", value: CLUSTER, inline: true });
    assert.equal(discordFields(plain)[0]!.name, "Source");
  });

  it("leads every platform's title, and the text Slack and Mattermost show alone (notifications, fallbacks)", () => {
    const titles = (event: CloudEvent) => ({
      slackHeader: (renderSlack(event).attachments as { blocks: { text?: { text: string } }[] }[])[0]!
        .blocks[0]!.text!.text,
      slackText: renderSlack(event).text as string,
      mattermostTitle: (renderMattermost(event).attachments as { title: string }[])[0]!.title,
      mattermostFallback: (renderMattermost(event).attachments as { fallback: string }[])[0]!.fallback,
      teams: (renderTeams(event).attachments as { content: { body: { text: string }[] } }[])[0]!.content
        .body[0]!.text,
      discord: (renderDiscord(event).embeds as { title: string }[])[0]!.title,
    });
    for (const [where, title] of Object.entries(titles(named))) {
      // Escaped for each platform's markup ("-" may become "\-"); the name is there, before the title.
      assert.match(title, /\[prod\\?-eu\\?-1\\?\] Disk almost full/, where);
    }
    for (const [where, title] of Object.entries(titles(plain))) {
      assert.doesNotMatch(title, /prod/, where);
      assert.match(title, /Disk almost full/, where);
    }
  });

  it("is in the log notifier's line, and an extension of its JSON", async () => {
    assert.match(formatEventLine(named), /^\d\d:\d\d:\d\d critical \[prod-eu-1\] prometheus /);
    assert.doesNotMatch(formatEventLine(plain), /\[/);
    const lines: string[] = [];
    const stream = new PassThrough();
    stream.on("data", (chunk: Buffer) => lines.push(chunk.toString()));
    const sink = namingCluster(
      await createNotifierSink(
        { type: "log" },
        { secrets: new LocalSecretResolver(), logStream: new EventOutput(stream, "json") },
      ),
      CLUSTER,
    );
    await sink.deliver(plain, AbortSignal.timeout(1_000));
    assert.equal((JSON.parse(lines.join("")) as Record<string, unknown>).patchbaycluster, CLUSTER);
  });

  describe("on webhook deliveries", () => {
    let receiver: Receiver;
    before(async () => {
      receiver = await startReceiver();
    });
    after(() => receiver.close());

    const deliver = async (mode: WebhookMode, cluster?: string) => {
      const sink = namingCluster(
        await createNotifierSink(
          { type: "webhook", webhook: { url: { value: receiver.url }, mode } },
          { secrets: new LocalSecretResolver() },
        ),
        cluster,
      );
      assert.deepEqual(await sink.deliver(plain, AbortSignal.timeout(5_000)), { kind: "delivered" });
      return receiver.requests.at(-1)!;
    };

    it("is the patchbaycluster extension attribute in every mode", async () => {
      for (const mode of ["json", "cloudevents-structured"] as const) {
        const request = await deliver(mode, CLUSTER);
        assert.equal((JSON.parse(request.body) as Record<string, unknown>).patchbaycluster, CLUSTER, mode);
      }
      const binary = await deliver("cloudevents-binary", CLUSTER);
      assert.equal(binary.headers["ce-patchbaycluster"], CLUSTER);
      assert.equal(binary.headers["ce-id"], plain.id);
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
