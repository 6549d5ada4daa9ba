/** Which events offer a Describe button, and the command it runs: only ever valid Kubernetes names. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CloudEvent } from "../../src/events/cloudevent.ts";
import { describeCommandOf } from "../../src/notifiers/object-commands.ts";

const withData = (data: unknown): CloudEvent => ({
  specversion: "1.0",
  id: "1",
  source: "s",
  type: "t",
  time: "2026-12-01T04:00:00Z",
  data,
});

describe("describeCommandOf", () => {
  it("reads a Kubernetes Event's involvedObject, the kubernetes source's object, or an alert's pod labels", () => {
    assert.equal(
      describeCommandOf(withData({ involvedObject: { kind: "Pod", name: "web-1", namespace: "shop" } })),
      "kubectl describe pod web-1 -n shop",
    );
    assert.equal(
      describeCommandOf(withData({ kind: "StatefulSet", name: "db", namespace: "data", uid: "u" })),
      "kubectl describe statefulset db -n data",
    );
    assert.equal(
      describeCommandOf(withData({ labels: { alertname: "X", pod: "api-7c9d8-x2k4q", namespace: "shop" } })),
      "kubectl describe pod api-7c9d8-x2k4q -n shop",
    );
    // A cluster-scoped object has no namespace.
    assert.equal(
      describeCommandOf(withData({ involvedObject: { kind: "Node", name: "node-1.example.com" } })),
      "kubectl describe node node-1.example.com",
    );
  });

  it("offers nothing when a part is not a valid Kubernetes name, or an alert's pod has no namespace", () => {
    const hostile = [
      { involvedObject: { kind: "Pod", name: "web-1 --all-namespaces", namespace: "shop" } },
      { involvedObject: { kind: "Pod", name: "-A", namespace: "shop" } },
      { involvedObject: { kind: "Pod", name: "web-1", namespace: "shop;rm" } },
      { involvedObject: { kind: "pods/exec", name: "web-1", namespace: "shop" } },
      { involvedObject: { kind: "Pod", name: "x".repeat(254), namespace: "shop" } },
      { involvedObject: { kind: "Pod", name: "web-1", namespace: "n".repeat(64) } },
      { kind: "Pod", name: "Web-1", namespace: "shop" },
      { labels: { pod: "web-1" } },
      { labels: { pod: "web-1", namespace: "--kubeconfig=/x" } },
    ];
    for (const data of hostile)
      assert.equal(describeCommandOf(withData(data)), undefined, JSON.stringify(data));
    assert.equal(describeCommandOf(withData("text")), undefined);
    assert.equal(describeCommandOf(withData(undefined)), undefined);
  });
});
