/**
 * Hostile-but-ordinary events (backticks, mentions, `<>&`, emoji at every truncation edge, markdown in
 * every field, huge and empty data) through every chat notifier: each payload must pass the platform's
 * published validator, and show what the event says, pinging nobody.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { CloudEvent } from "../../src/events/cloudevent.ts";
import {
  DiscordSink,
  MattermostSink,
  renderDiscord,
  renderMattermost,
  renderResolvedRoot,
  renderSlack,
  renderSlackApp,
  renderTeams,
  SlackSink,
  TeamsSink,
  withOffers,
} from "../../src/notifiers/index.ts";
import {
  codeBlockContent,
  discordProblems,
  discordWouldLink,
  hasLoneSurrogate,
  isWholeGraphemePrefix,
  markdownShownAsWritten,
  mattermostPings,
  mattermostProblems,
  slackHasControlSequence,
  slackProblems,
  slackShows,
  teamsProblems,
} from "./platforms.ts";
import { startReceiver, type Receiver } from "./receiver.ts";

const base: CloudEvent = {
  specversion: "1.0",
  id: "e-1",
  source: "prometheus",
  type: "dev.patchbay.alert.firing",
  time: "2024-05-01T12:00:00.000Z",
  severity: "error",
};

const MARKDOWN_NAME = "ns/*bold*_x_~y~ `c` [l](http://x.y) <b> #h |t|";
const FAMILY = "👩‍👩‍👧‍👦"; // 11 UTF-16 units, one grapheme
const THUMB = "👍🏽"; // 4 units
const FLAG = "🇫🇷"; // 4 units

const corpus: Record<string, CloudEvent> = {
  backticks: { ...base, data: "before ```\n*not bold* @channel <!here>\n``` after ``` " },
  mentions: {
    ...base,
    subject: "@channel",
    data: { message: "@channel @here @all <!here> <!channel> <@U123> disk full", text: "@here" },
  },
  entities: { ...base, subject: "a<b>&c", data: { summary: "kubectl says <none> & <!channel>" } },
  markdownEverywhere: {
    ...base,
    source: "src/*b*_i_",
    type: "t_x_~y~",
    subject: MARKDOWN_NAME,
    data: { title: "# Heading *bold* > quote\n- list", blob: "**x** __y__" },
  },
  huge: { ...base, subject: "S".repeat(5000), data: { summary: "T".repeat(1000), blob: "`".repeat(50_000) } },
  emptyObject: { ...base, data: {} },
  emptyArray: { ...base, data: [] },
  emptyString: { ...base, data: "" },
  alertmanager: {
    ...base,
    subject: "KubePodCrashLooping",
    data: {
      summary: "Pod shop/web-1 is crash looping",
      generatorURL: "http://prometheus-k8s-0:9090/graph?g0.expr=up_x%3D%3D0",
      labels: { alertname: "KubePodCrashLooping", namespace: "shop" },
    },
  },
};
// Emoji straddling every cut: lengths around each platform's title and field limits.
for (const emoji of [FAMILY, THUMB, FLAG]) {
  for (let pad = 0; pad < emoji.length + 1; pad++) {
    corpus[`emoji ${emoji} +${pad}`] = {
      ...base,
      subject: "x".repeat(pad) + emoji.repeat(700),
      data: { summary: "y".repeat(pad) + emoji.repeat(30) },
    };
  }
}

const renderers = {
  slack: { render: (e: CloudEvent) => renderSlack(e), problems: slackProblems },
  discord: { render: (e: CloudEvent) => renderDiscord(e), problems: discordProblems },
  mattermost: { render: (e: CloudEvent) => renderMattermost(e), problems: mattermostProblems },
  teams: { render: (e: CloudEvent) => renderTeams(e), problems: teamsProblems },
  // The Slack app: the same blocks plus buttons (Describe and an Action's offers, with hostile labels),
  // and the root of a resolved thread.
  "slack app": { render: (e: CloudEvent) => renderSlackApp(offering(e)), problems: slackProblems },
  "slack app, resolved root": {
    render: (e: CloudEvent) => renderResolvedRoot(offering(e)),
    problems: slackProblems,
  },
};

/** The event about a Pod, offering commands whose labels and lines are built to break a payload. */
function offering(event: CloudEvent): CloudEvent {
  const data = typeof event.data === "object" && event.data !== null ? event.data : { data: event.data };
  return withOffers(
    { ...event, data: { ...data, involvedObject: { kind: "Pod", name: "web-1", namespace: "shop" } } },
    [
      { label: `${MARKDOWN_NAME} <!here> &amp; ${FAMILY.repeat(20)}`, command: "kubectl get pods -n shop" },
      { label: "`x`", command: `echo ${"<@U123> ".repeat(400)}`.slice(0, 2000) },
      { label: THUMB.repeat(40), command: "x".repeat(2001) },
    ],
  );
}

describe("every payload passes the platform's published validator", () => {
  for (const [platform, { render, problems }] of Object.entries(renderers)) {
    test(platform, () => {
      for (const [name, event] of Object.entries(corpus)) {
        const payload = render(event);
        assert.deepEqual(problems(payload), [], `${platform}, event "${name}"`);
        assert.ok(!hasLoneSurrogate(JSON.stringify(payload)), `${platform}, event "${name}": lone surrogate`);
      }
    });
  }
});

type SlackPayload = {
  text: string;
  attachments: {
    blocks: { type: string; text?: { text: string }; fields?: { type: string; text: string }[] }[];
  }[];
};
type DiscordPayload = {
  embeds: { title: string; description?: string; url?: string; fields: { name: string; value: string }[] }[];
};
type MattermostPayload = {
  attachments: {
    title: string;
    text?: string;
    title_link?: string;
    fields: { title: string; value: string }[];
  }[];
};
type TeamsPayload = {
  attachments: {
    content: { body: { type: string; text?: string; facts?: { title: string; value: string }[] }[] };
  }[];
};

describe("finding 1: Discord delivers Alertmanager alerts whose link has an undotted in-cluster host", () => {
  test("the link goes into the text, not embed.url", () => {
    const payload = renderDiscord(corpus.alertmanager!) as DiscordPayload;
    const embed = payload.embeds[0]!;
    assert.equal(embed.url, undefined);
    const link = embed.fields.find((field) => field.name === "Link");
    assert.ok(link, "the link is shown as a field");
    assert.equal(
      markdownShownAsWritten(link.value),
      "http://prometheus-k8s-0:9090/graph?g0.expr=up_x%3D%3D0",
    );
  });

  test("a dotted host stays the embed's link", () => {
    const event = { ...base, data: { generatorURL: "https://prometheus.example.com/graph" } };
    const embed = (renderDiscord(event) as DiscordPayload).embeds[0]!;
    assert.equal(embed.url, "https://prometheus.example.com/graph");
    assert.ok(discordWouldLink(embed.url!));
  });

  describe("a 400 caused by our payload is retried once without its optional parts", () => {
    let receiver: Receiver;
    before(async () => {
      receiver = await startReceiver();
    });
    after(() => receiver.close());

    test("Discord refusing the display name: the message is delivered without it", async () => {
      // Discord refuses usernames containing "discord" with a 400 on the whole message.
      receiver.respond((request, response) => {
        const body = JSON.parse(request.body) as { username?: string };
        if (body.username?.includes("discord")) response.writeHead(400).end('{"username":["invalid"]}');
        else response.writeHead(204).end();
      });
      const sink = new DiscordSink(receiver.url, { username: "discord-alerts", avatarUrl: "http://i/x.png" });
      const sent = receiver.requests.length;
      const outcome = await sink.deliver(corpus.alertmanager!, AbortSignal.timeout(5000));
      assert.deepEqual(outcome, { kind: "delivered" });
      const [first, second] = receiver.requests.slice(sent).map((r) => JSON.parse(r.body));
      assert.equal(receiver.requests.length - sent, 2);
      assert.equal(first.username, "discord-alerts");
      assert.equal(second.username, undefined);
      assert.equal(second.avatar_url, undefined);
      assert.deepEqual(second.embeds[0].title, first.embeds[0].title, "the message itself is the same");
    });

    test("Slack refusing the button: delivered without it; a second 400 is permanent and quotes both", async () => {
      receiver.respond((request, response) => {
        const body = JSON.parse(request.body) as SlackPayload;
        const hasButton = body.attachments[0]!.blocks.some((block) => block.type === "actions");
        response.writeHead(hasButton ? 400 : 200).end(hasButton ? "invalid_blocks" : "ok");
      });
      const event = { ...base, data: { generatorURL: "https://prometheus.example.com/graph" } };
      let sent = receiver.requests.length;
      assert.deepEqual(await new SlackSink(receiver.url).deliver(event, AbortSignal.timeout(5000)), {
        kind: "delivered",
      });
      assert.equal(receiver.requests.length - sent, 2);

      receiver.respond((_request, response) => response.writeHead(400).end("invalid_payload"));
      sent = receiver.requests.length;
      const outcome = await new SlackSink(receiver.url).deliver(event, AbortSignal.timeout(5000));
      assert.deepEqual(outcome, {
        kind: "permanent",
        reason: "HTTP 400: invalid_payload; without its optional parts: HTTP 400: invalid_payload",
      });
      assert.equal(receiver.requests.length - sent, 2, "retried once, not more");
    });

    test("a message without optional parts is not sent twice on a 400", async () => {
      receiver.respond((_request, response) => response.writeHead(400).end("bad"));
      const sent = receiver.requests.length;
      const outcome = await new TeamsSink(receiver.url).deliver(
        corpus.emptyObject!,
        AbortSignal.timeout(5000),
      );
      assert.equal(outcome.kind, "permanent");
      assert.equal(receiver.requests.length - sent, 1);
    });

    test("Mattermost: a 400 to the full message, then the message without title link, username and icon", async () => {
      receiver.respond((request, response) => {
        const body = JSON.parse(request.body) as { icon_url?: string };
        response.writeHead(body.icon_url ? 400 : 200).end(body.icon_url ? "bad icon" : "ok");
      });
      const sink = new MattermostSink(receiver.url, {
        channel: "alerts",
        username: "pb",
        iconUrl: "ftp://x",
      });
      const sent = receiver.requests.length;
      assert.deepEqual(await sink.deliver(corpus.alertmanager!, AbortSignal.timeout(5000)), {
        kind: "delivered",
      });
      const bare = JSON.parse(receiver.requests.at(-1)!.body);
      assert.equal(receiver.requests.length - sent, 2);
      assert.equal(bare.channel, "alerts", "the channel is never dropped: the message must not go elsewhere");
      assert.equal(bare.attachments[0].title_link, undefined);
    });
  });
});

describe("finding 2: mentions in event data ping nobody", () => {
  test("Mattermost: no @channel, @here, @all or @name outside code", () => {
    for (const name of ["mentions", "backticks", "markdownEverywhere"]) {
      const attachment = (renderMattermost(corpus[name]!) as MattermostPayload).attachments[0]!;
      assert.ok(!mattermostPings(attachment.title), `${name}: title ${attachment.title}`);
      assert.ok(!mattermostPings(attachment.text ?? ""), `${name}: text ${attachment.text}`);
      for (const field of attachment.fields)
        assert.ok(!mattermostPings(field.value), `${name}: ${field.value}`);
    }
  });

  test("Mattermost still shows the mention's text (a zero-width joiner is invisible)", () => {
    const attachment = (renderMattermost(corpus.mentions!) as MattermostPayload).attachments[0]!;
    const subject = attachment.fields.find((field) => field.title === "Subject")!;
    assert.equal(markdownShownAsWritten(subject.value)?.replaceAll("\u200d", ""), "@channel");
  });

  test("Slack: no live control sequence (<!here>, <@U…>) anywhere, and <none> shows as <none>", () => {
    for (const name of ["mentions", "entities", "backticks"]) {
      const payload = renderSlack(corpus[name]!) as SlackPayload;
      assert.ok(!slackHasControlSequence(payload.text), `${name}: ${payload.text}`);
      for (const block of payload.attachments[0]!.blocks) {
        if (block.text && block.type === "section")
          assert.ok(!slackHasControlSequence(block.text.text), name);
      }
    }
    const text = (renderSlack(corpus.entities!) as SlackPayload).text;
    assert.match(slackShows(text), /kubectl says <none> & <!channel>/);
  });

  test("Discord: every payload disables all mentions", () => {
    for (const event of Object.values(corpus)) {
      assert.deepEqual((renderDiscord(event) as { allowed_mentions: unknown }).allowed_mentions, {
        parse: [],
      });
    }
  });
});

describe("finding 3: backticks in event data never close the code block early", () => {
  const data = corpus.backticks!.data as string;
  const zeroWidth = (text: string) => text.replaceAll("\u200b", "");

  test("Slack", () => {
    const block = (renderSlack(corpus.backticks!) as SlackPayload).attachments[0]!.blocks[2]!;
    const content = codeBlockContent(block.text!.text);
    assert.ok(content !== undefined, block.text!.text);
    assert.equal(zeroWidth(slackShows(content)), data);
  });

  test("Discord", () => {
    const description = (renderDiscord(corpus.backticks!) as DiscordPayload).embeds[0]!.description!;
    const content = codeBlockContent(description);
    assert.ok(content !== undefined, description);
    assert.equal(zeroWidth(content), data);
  });

  test("Mattermost", () => {
    const text = (renderMattermost(corpus.backticks!) as MattermostPayload).attachments[0]!.text!;
    const content = codeBlockContent(text);
    assert.ok(content !== undefined, text);
    assert.equal(zeroWidth(content), data);
    assert.ok(!mattermostPings(text));
  });

  test("data made only of backticks, cut to fit, is still one closed block", () => {
    const slack = (renderSlack(corpus.huge!) as SlackPayload).attachments[0]!.blocks[2]!.text!.text;
    const discord = (renderDiscord(corpus.huge!) as DiscordPayload).embeds[0]!.description!;
    const mattermost = (renderMattermost(corpus.huge!) as MattermostPayload).attachments[0]!.text!;
    for (const text of [slack, discord, mattermost]) {
      const content = codeBlockContent(text);
      assert.ok(content !== undefined && content.endsWith("…"), text.slice(-40));
    }
  });
});

describe("finding 4: emoji are never cut in half", () => {
  test("titles and fields cut on grapheme boundaries on every platform", () => {
    for (const [name, event] of Object.entries(corpus)) {
      if (!name.startsWith("emoji")) continue;
      const subject = event.subject!;
      const slackField = (renderSlack(event) as SlackPayload).attachments[0]!.blocks[1]!.fields!.find(
        (field) => field.text.startsWith("Subject\n"),
      )!;
      assert.ok(isWholeGraphemePrefix(subject, slackField.text.slice("Subject\n".length)), `slack ${name}`);
      const discordField = (renderDiscord(event) as DiscordPayload).embeds[0]!.fields.find(
        (field) => field.name === "Subject",
      )!;
      assert.ok(isWholeGraphemePrefix(subject, discordField.value), `discord ${name}`);
      const mattermostField = (renderMattermost(event) as MattermostPayload).attachments[0]!.fields.find(
        (field) => field.title === "Subject",
      )!;
      assert.ok(isWholeGraphemePrefix(subject, mattermostField.value), `mattermost ${name}`);
      const fact = (renderTeams(event) as TeamsPayload).attachments[0]!.content.body[1]!.facts!.find(
        (f) => f.title === "Subject",
      )!;
      assert.ok(isWholeGraphemePrefix(subject, fact.value), `teams ${name}`);
    }
  });
});

describe("finding 5: markdown in names shows as written; empty data shows no block", () => {
  const event = corpus.markdownEverywhere!;

  test("Slack fields are plain_text (mrkdwn cannot escape * _ ~ `) and show the names as written", () => {
    const fields = (renderSlack(event) as SlackPayload).attachments[0]!.blocks[1]!.fields!;
    assert.ok(fields.every((field) => field.type === "plain_text"));
    assert.ok(fields.some((field) => field.text === `Subject\n${MARKDOWN_NAME}`));
    assert.ok(fields.some((field) => field.text === "Source\nsrc/*b*_i_"));
    assert.ok(fields.some((field) => field.text === "Type\nt_x_~y~"));
    assert.equal(
      (renderSlack(event) as { mrkdwn?: boolean }).mrkdwn,
      false,
      "the top-level text is not mrkdwn",
    );
  });

  test("Discord title and fields", () => {
    const embed = (renderDiscord(event) as DiscordPayload).embeds[0]!;
    assert.equal(markdownShownAsWritten(embed.title), "🔴 # Heading *bold* > quote - list");
    const shown = Object.fromEntries(embed.fields.map((f) => [f.name, markdownShownAsWritten(f.value)]));
    assert.deepEqual(shown, {
      Source: "src/*b*_i_",
      Type: "t_x_~y~",
      Subject: MARKDOWN_NAME,
      Severity: "error",
      Time: "2024-05-01T12:00:00.000Z",
    });
  });

  test("Mattermost title and field values", () => {
    const attachment = (renderMattermost(event) as MattermostPayload).attachments[0]!;
    assert.equal(markdownShownAsWritten(attachment.title), "🔴 # Heading *bold* > quote - list");
    const subject = attachment.fields.find((field) => field.title === "Subject")!;
    assert.equal(markdownShownAsWritten(subject.value), MARKDOWN_NAME);
  });

  test("Teams title and facts", () => {
    const [title, facts] = (renderTeams(event) as TeamsPayload).attachments[0]!.content.body;
    assert.equal(markdownShownAsWritten(title!.text!), "🔴 # Heading *bold* > quote - list");
    const subject = facts!.facts!.find((fact) => fact.title === "Subject")!;
    assert.equal(markdownShownAsWritten(subject.value), MARKDOWN_NAME);
  });

  test("empty data ({}, [], an empty string) shows no data block on any platform", () => {
    for (const name of ["emptyObject", "emptyArray", "emptyString"]) {
      const slack = (renderSlack(corpus[name]!) as SlackPayload).attachments[0]!.blocks;
      assert.deepEqual(
        slack.map((block) => block.type),
        ["header", "section"],
        `slack ${name}`,
      );
      assert.equal((renderDiscord(corpus[name]!) as DiscordPayload).embeds[0]!.description, undefined);
      assert.equal((renderMattermost(corpus[name]!) as MattermostPayload).attachments[0]!.text, undefined);
      assert.equal((renderTeams(corpus[name]!) as TeamsPayload).attachments[0]!.content.body.length, 2);
    }
  });
});
