import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { after, before, describe, test } from "node:test";
import type { CloudEvent } from "../../src/events/cloudevent.ts";
import {
  DiscordSink,
  LogSink,
  MattermostSink,
  SlackSink,
  TeamsSink,
  WebhookSink,
  type DeliveryOutcome,
  type NotifierSink,
} from "../../src/notifiers/index.ts";
import { answer, startReceiver, type Receiver } from "./receiver.ts";

const alert: CloudEvent = {
  specversion: "1.0",
  id: "alert-1",
  source: "prometheus",
  type: "dev.patchbay.alert.firing",
  time: "2024-05-01T12:00:00.000Z",
  subject: "HighLatency",
  severity: "error",
  data: {
    summary: "p99 latency above 2s on checkout",
    generatorURL: "http://prometheus.example/graph?g0.expr=latency",
    labels: { alertname: "HighLatency", service: "checkout" },
  },
};

const huge: CloudEvent = {
  ...alert,
  id: "huge",
  subject: "S".repeat(5000),
  data: {
    summary: "T".repeat(1000),
    blob: "x".repeat(100_000),
    list: Array.from({ length: 2000 }, (_, i) => i),
  },
};

function signal(ms = 5000): AbortSignal {
  return AbortSignal.timeout(ms);
}

let receiver: Receiver;
before(async () => {
  receiver = await startReceiver();
});
after(() => receiver.close());

async function sendOne(sink: NotifierSink, event: CloudEvent) {
  const before = receiver.requests.length;
  const outcome = await sink.deliver(event, signal());
  assert.deepEqual(outcome, { kind: "delivered" });
  assert.equal(receiver.requests.length, before + 1);
  const request = receiver.requests.at(-1)!;
  assert.equal(request.method, "POST");
  assert.equal(request.path, "/hook");
  return request;
}

describe("Slack incoming webhook", () => {
  test("posts Block Kit in a coloured attachment with header, fields, data and a link button", async () => {
    receiver.respond(answer(200, { "content-type": "text/plain" }, "ok"));
    const request = await sendOne(new SlackSink(receiver.url), alert);
    assert.match(request.headers["content-type"]!, /^application\/json/);
    const body = JSON.parse(request.body);
    assert.equal(typeof body.text, "string");
    assert.match(body.text, /p99 latency/);
    assert.equal(body.attachments.length, 1);
    assert.equal(body.attachments[0].color, "#e01e5a");
    const blocks = body.attachments[0].blocks;
    assert.deepEqual(
      blocks.map((b: { type: string }) => b.type),
      ["header", "section", "section", "actions"],
    );
    assert.equal(blocks[0].text.type, "plain_text");
    assert.match(blocks[0].text.text, /^🔴 p99 latency above 2s on checkout$/);
    const fields = blocks[1].fields.map((f: { type: string; text: string }) => f.text);
    // mrkdwn cannot escape * _ ~ `: names are plain_text, which Slack shows as written.
    assert.ok(blocks[1].fields.every((f: { type: string }) => f.type === "plain_text"));
    assert.ok(fields.includes("Source\nprometheus"));
    assert.ok(fields.includes("Type\ndev.patchbay.alert.firing"));
    assert.ok(fields.includes("Subject\nHighLatency"));
    assert.ok(fields.includes("Time\n2024-05-01T12:00:00.000Z"));
    assert.match(blocks[2].text.text, /^```\n[\s\S]*"service": "checkout"[\s\S]*\n```$/);
    assert.equal(blocks[3].elements[0].type, "button");
    assert.equal(blocks[3].elements[0].url, "http://prometheus.example/graph?g0.expr=latency");
  });

  test("keeps within Slack's limits with a visible … and escapes mrkdwn control characters", async () => {
    const event = { ...huge, data: { ...(huge.data as object), summary: "<!channel> " + "T".repeat(1000) } };
    const request = await sendOne(new SlackSink(receiver.url), event);
    const body = JSON.parse(request.body);
    const blocks = body.attachments[0].blocks;
    assert.ok(blocks.length <= 50);
    assert.ok(blocks[0].text.text.length <= 150);
    assert.ok(blocks[0].text.text.endsWith("…"));
    for (const field of blocks[1].fields) assert.ok(field.text.length <= 2000);
    assert.ok(
      blocks[1].fields.some((f: { text: string }) => f.text.startsWith("Subject\n") && f.text.endsWith("…")),
    );
    assert.ok(blocks[2].text.text.length <= 3000);
    assert.match(blocks[2].text.text, /…\n```$/);
    assert.ok(body.text.length <= 3000);
    assert.ok(body.text.startsWith("&lt;!channel&gt;"), "a mention in event text is escaped");
  });

  test("an event without data, subject, severity or link renders a valid minimal message", async () => {
    const bare: CloudEvent = { specversion: "1.0", id: "b", source: "s", type: "t.x", time: "" };
    const request = await sendOne(new SlackSink(receiver.url), bare);
    const body = JSON.parse(request.body);
    assert.deepEqual(
      body.attachments[0].blocks.map((b: { type: string }) => b.type),
      ["header", "section"],
    );
    assert.equal(body.attachments[0].blocks[0].text.text, "⚪ t.x");
  });
});

describe("Mattermost incoming webhook", () => {
  test("posts an attachment with colour, title link, short fields and overrides", async () => {
    const sink = new MattermostSink(receiver.url, {
      channel: "alerts",
      username: "patchbay",
      iconUrl: "http://i/x.png",
    });
    const request = await sendOne(sink, alert);
    assert.match(request.headers["content-type"]!, /^application\/json/);
    const body = JSON.parse(request.body);
    assert.equal(body.channel, "alerts");
    assert.equal(body.username, "patchbay");
    assert.equal(body.icon_url, "http://i/x.png");
    const [attachment] = body.attachments;
    assert.equal(attachment.color, "#e01e5a");
    assert.equal(attachment.title, "🔴 p99 latency above 2s on checkout");
    assert.equal(attachment.title_link, "http://prometheus.example/graph?g0.expr=latency");
    assert.match(attachment.fallback, /p99 latency/);
    assert.deepEqual(attachment.fields[0], { short: true, title: "Source", value: "prometheus" });
    assert.match(attachment.text, /^```\n\{/);
  });

  test("stays under the 16383-character post limit", async () => {
    const request = await sendOne(new MattermostSink(receiver.url), huge);
    assert.ok(request.body.length <= 16383, `payload is ${request.body.length} chars`);
    const [attachment] = JSON.parse(request.body).attachments;
    assert.match(attachment.text, /…\n```$/);
  });
});

describe("Microsoft Teams workflow webhook", () => {
  test("posts an Adaptive Card 1.4 message envelope", async () => {
    receiver.respond(answer(202));
    const request = await sendOne(new TeamsSink(receiver.url), alert);
    receiver.respond(answer(200, {}, "ok"));
    assert.match(request.headers["content-type"]!, /^application\/json/);
    const body = JSON.parse(request.body);
    assert.equal(body.type, "message");
    assert.equal(body.attachments.length, 1);
    const [attachment] = body.attachments;
    assert.equal(attachment.contentType, "application/vnd.microsoft.card.adaptive");
    const card = attachment.content;
    assert.equal(card.type, "AdaptiveCard");
    assert.equal(card.version, "1.4");
    assert.equal(card.body[0].type, "TextBlock");
    assert.equal(card.body[0].color, "Attention");
    assert.equal(card.body[0].text, "🔴 p99 latency above 2s on checkout");
    assert.equal(card.body[1].type, "FactSet");
    assert.deepEqual(card.body[1].facts[0], { title: "Source", value: "prometheus" });
    assert.equal(card.body[2].fontType, "Monospace");
    assert.deepEqual(card.actions, [
      { type: "Action.OpenUrl", title: "Open", url: "http://prometheus.example/graph?g0.expr=latency" },
    ]);
  });

  test("stays under Teams' 28 KB payload limit", async () => {
    const request = await sendOne(new TeamsSink(receiver.url), huge);
    assert.ok(
      Buffer.byteLength(request.body) <= 28_000,
      `payload is ${Buffer.byteLength(request.body)} bytes`,
    );
    assert.ok(JSON.parse(request.body).attachments[0].content.body[2].text.endsWith("…"));
  });
});

describe("Discord webhook", () => {
  test("posts an embed with a colour integer, fields, timestamp, link and no mentions", async () => {
    receiver.respond(answer(204));
    const sink = new DiscordSink(receiver.url, { username: "patchbay", avatarUrl: "http://i/a.png" });
    const request = await sendOne(sink, alert);
    receiver.respond(answer(200, {}, "ok"));
    assert.match(request.headers["content-type"]!, /^application\/json/);
    const body = JSON.parse(request.body);
    assert.equal(body.username, "patchbay");
    assert.equal(body.avatar_url, "http://i/a.png");
    assert.deepEqual(body.allowed_mentions, { parse: [] });
    const [embed] = body.embeds;
    assert.equal(embed.color, 0xe01e5a);
    assert.equal(embed.title, "🔴 p99 latency above 2s on checkout");
    assert.equal(embed.url, "http://prometheus.example/graph?g0.expr=latency");
    assert.equal(embed.timestamp, "2024-05-01T12:00:00.000Z");
    assert.deepEqual(embed.fields[0], { name: "Source", value: "prometheus", inline: true });
    assert.match(embed.description, /^```json\n/);
  });

  test("keeps within the embed limits (title 256, description 4096, fields, 6000 total)", async () => {
    const request = await sendOne(new DiscordSink(receiver.url), huge);
    const [embed] = JSON.parse(request.body).embeds;
    assert.ok(embed.title.length <= 256);
    assert.ok(embed.description.length <= 4096);
    assert.ok(embed.fields.length <= 25);
    for (const field of embed.fields) assert.ok(field.name.length <= 256 && field.value.length <= 1024);
    const total =
      embed.title.length +
      embed.description.length +
      embed.footer.text.length +
      embed.fields.reduce(
        (n: number, f: { name: string; value: string }) => n + f.name.length + f.value.length,
        0,
      );
    assert.ok(total <= 6000, `embed has ${total} characters`);
    assert.ok(embed.description.includes("…"));
  });
});

describe("generic webhook", () => {
  test("json mode posts the CloudEvent as application/json with extra headers", async () => {
    const sink = new WebhookSink(receiver.url, { headers: { Authorization: "Bearer t0ken" } });
    const request = await sendOne(sink, alert);
    assert.match(request.headers["content-type"]!, /^application\/json/);
    assert.equal(request.headers.authorization, "Bearer t0ken");
    assert.deepEqual(JSON.parse(request.body), alert);
  });

  test("cloudevents-structured mode uses application/cloudevents+json", async () => {
    const request = await sendOne(new WebhookSink(receiver.url, { mode: "cloudevents-structured" }), alert);
    assert.match(request.headers["content-type"]!, /^application\/cloudevents\+json/);
    assert.deepEqual(JSON.parse(request.body), alert);
  });

  test("cloudevents-binary mode sends ce-* headers and the data as the body", async () => {
    const event = { ...alert, subject: "café 100%" };
    const request = await sendOne(new WebhookSink(receiver.url, { mode: "cloudevents-binary" }), event);
    const h = request.headers;
    assert.equal(h["ce-specversion"], "1.0");
    assert.equal(h["ce-id"], "alert-1");
    assert.equal(h["ce-source"], "prometheus");
    assert.equal(h["ce-type"], "dev.patchbay.alert.firing");
    assert.equal(h["ce-time"], "2024-05-01T12:00:00.000Z");
    assert.equal(h["ce-severity"], "error");
    assert.equal(h["ce-subject"], "caf%C3%A9%20100%25", "non-ASCII, space and % are percent-encoded");
    assert.equal(decodeURIComponent(h["ce-subject"] as string), "café 100%");
    assert.match(h["content-type"]!, /^application\/json/);
    assert.deepEqual(JSON.parse(request.body), alert.data);
  });

  test("cloudevents-binary labels text data as text/plain", async () => {
    const event: CloudEvent = {
      specversion: "1.0",
      id: "t",
      source: "s",
      type: "t",
      time: alert.time,
      data: "hello",
    };
    const request = await sendOne(new WebhookSink(receiver.url, { mode: "cloudevents-binary" }), event);
    assert.match(request.headers["content-type"]!, /^text\/plain/);
    assert.equal(request.body, "hello");
  });
});

describe("log notifier", () => {
  test("writes each event as one JSON line", async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    stream.on("data", (chunk: Buffer) => lines.push(...chunk.toString().split("\n").filter(Boolean)));
    const sink = new LogSink(stream);
    assert.deepEqual(await sink.deliver(alert, signal()), { kind: "delivered" });
    assert.deepEqual(await sink.deliver(huge, signal()), { kind: "delivered" });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(lines.length, 2);
    assert.deepEqual(JSON.parse(lines[0]!), alert);
  });
});

describe("outcomes a sink reports", () => {
  const sink = () => new WebhookSink(receiver.url);
  const outcome = async (status: number, headers: Record<string, string> = {}, body = "") => {
    receiver.respond(answer(status, headers, body));
    try {
      return await sink().deliver(alert, signal());
    } finally {
      receiver.respond(answer(200, {}, "ok"));
    }
  };

  test("5xx, 408 and 429 are retryable; other 4xx are permanent and quote the body", async () => {
    assert.equal((await outcome(500)).kind, "retry");
    assert.equal((await outcome(503)).kind, "retry");
    assert.equal((await outcome(408)).kind, "retry");
    assert.equal((await outcome(429)).kind, "retry");
    const bad = (await outcome(400, {}, "invalid_blocks")) as Extract<DeliveryOutcome, { kind: "permanent" }>;
    assert.equal(bad.kind, "permanent");
    assert.equal(bad.reason, "HTTP 400: invalid_blocks");
    assert.equal((await outcome(404, {}, "no_service")).kind, "permanent");
    assert.equal((await outcome(410)).kind, "permanent");
  });

  test("Retry-After in seconds and as an HTTP-date becomes retryAfterMs", async () => {
    const seconds = await outcome(429, { "retry-after": "7" });
    assert.deepEqual(seconds, { kind: "retry", reason: "HTTP 429", retryAfterMs: 7000 });
    const date = new Date(Date.now() + 30_000).toUTCString();
    const dated = (await outcome(503, { "retry-after": date })) as { retryAfterMs: number };
    assert.ok(dated.retryAfterMs > 27_000 && dated.retryAfterMs <= 30_000, `got ${dated.retryAfterMs}`);
    const garbage = await outcome(429, { "retry-after": "soon" });
    assert.deepEqual(garbage, { kind: "retry", reason: "HTTP 429" });
  });

  test("a refused connection is retryable and says so", async () => {
    const down = await startReceiver();
    await down.close();
    const result = await new WebhookSink(down.url).deliver(alert, signal());
    assert.equal(result.kind, "retry");
    assert.match((result as { reason: string }).reason, /ECONNREFUSED/);
  });

  test("an aborted request (timeout) is retryable and says so", async () => {
    receiver.respond(() => {}); // never answers
    try {
      const result = await sink().deliver(alert, AbortSignal.timeout(50));
      assert.deepEqual(result, { kind: "retry", reason: "request timed out" });
    } finally {
      receiver.respond(answer(200, {}, "ok"));
    }
  });
});
