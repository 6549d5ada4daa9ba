/** Which events share a chat thread: the key the Slack and Mattermost app notifiers thread by. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CloudEvent } from "../../src/events/cloudevent.ts";
import { threadKeyOf } from "../../src/notifiers/index.ts";

const event = (extra: Partial<CloudEvent>): CloudEvent => ({
  specversion: "1.0",
  id: "1",
  source: "alertmanager",
  type: "t",
  time: "2026-12-01T04:00:00Z",
  ...(extra as Record<string, unknown>),
});

describe("threadKeyOf", () => {
  it("an alert is one thread per fingerprint, firing or resolved; the resolution ends it", () => {
    const firing = event({ data: { fingerprint: "3f1c", status: "firing" } });
    const resolved = event({ id: "2", data: { fingerprint: "3f1c", status: "resolved" } });
    assert.deepEqual(threadKeyOf(firing), { key: "alertmanager/fingerprint/3f1c", resolves: false });
    assert.deepEqual(threadKeyOf(resolved), { key: "alertmanager/fingerprint/3f1c", resolves: true });
    assert.notEqual(
      threadKeyOf(event({ source: "other", data: { fingerprint: "3f1c" } }))!.key,
      threadKeyOf(firing)!.key,
      "two sources never share a thread",
    );
  });

  it("a Kubernetes object is one thread per uid: an Event's involvedObject, or the kubernetes source's object", () => {
    const involved = event({ source: "kube", data: { involvedObject: { uid: "u-1", kind: "Pod" } } });
    const changed = event({ source: "kube", data: { uid: "u-1", kind: "Pod" } });
    assert.deepEqual(threadKeyOf(involved), { key: "kube/uid/u-1", resolves: false });
    assert.deepEqual(threadKeyOf(changed), { key: "kube/uid/u-1", resolves: false });
    const noUid = event({
      source: "kube",
      subject: "Pod/shop/web-1",
      data: { involvedObject: { kind: "Pod" } },
    });
    assert.deepEqual(threadKeyOf(noUid), { key: "kube/subject/Pod/shop/web-1", resolves: false });
  });

  it("the patchbaythread extension names the thread outright (an Action's follow-up)", () => {
    assert.deepEqual(threadKeyOf(event({ patchbaythread: "alertmanager/fingerprint/3f1c", data: {} })), {
      key: "alertmanager/fingerprint/3f1c",
      resolves: false,
    });
  });

  it("anything else stands alone", () => {
    for (const data of [undefined, "text", [1], {}, { fingerprint: "" }, { involvedObject: "x" }, { uid: 7 }])
      assert.equal(threadKeyOf(event({ data })), undefined, JSON.stringify(data));
    assert.equal(
      threadKeyOf(event({ subject: "Pod/x", data: {} })),
      undefined,
      "a subject alone is no object",
    );
    assert.equal(threadKeyOf(event({ patchbaythread: "", data: {} })), undefined);
  });
});
