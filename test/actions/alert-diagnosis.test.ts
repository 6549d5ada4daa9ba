/**
 * Actions over real processes: `patchbay local` (the real CLI) with the prometheus source, the kubectl
 * executor running the real kubectl against the Kubernetes API double, and a webhook notifier posting
 * to a real HTTP receiver. An Alertmanager payload posted to the source runs the Action's command for
 * the alert's Pod, and the alert reaches the receiver with the command's output attached; the same
 * alert again within the window runs nothing. Label values built to inject reach kubectl's policy as
 * one literal argument each.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { kubectlExecutorManifest, prometheusSourceManifest } from "../support/local-manifests.ts";
import { startKubeApiDouble, type KubeApiDouble } from "../support/kube-api/index.ts";
import { NatsServer } from "../support/nats-server.ts";
import { startPatchbayLocal, type PatchbayLocal } from "../support/patchbay-local.ts";
import { waitFor } from "../support/wait.ts";

interface Received {
  id: string;
  type: string;
  subject?: string;
  data: {
    labels: Record<string, string>;
    actions?: { action: string; command: string; status: string; output: string; error: string }[];
  };
}

const POD = "api-7c9d8f6b5-x2k4q";
const INJECTIONS = ["x; rm -rf /", "$(id)", "--kubeconfig=/etc/x", "a b"];

let api: KubeApiDouble;
let local: PatchbayLocal;
let dir: string;
let receiver: Server;
const received: Received[] = [];

function alert(alertname: string, pod: string, startsAt: string) {
  return {
    version: "4",
    status: "firing",
    receiver: "patchbay",
    groupKey: `{}:{alertname="${alertname}"}`,
    groupLabels: { alertname },
    commonLabels: {},
    commonAnnotations: {},
    externalURL: "http://alertmanager:9093",
    truncatedAlerts: 0,
    alerts: [
      {
        status: "firing",
        labels: { alertname, namespace: "shop", pod, severity: "warning" },
        annotations: { summary: "Pod is crash looping." },
        startsAt,
        endsAt: "0001-01-01T00:00:00Z",
        generatorURL: "http://prometheus:9090/graph",
        fingerprint: createHash("sha256").update(`${alertname}/${pod}`).digest("hex").slice(0, 16),
      },
    ],
  };
}

async function postAlert(body: unknown): Promise<number> {
  const response = await fetch(`${local.url}/sources/alertmanager/`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  await response.text();
  return response.status;
}

async function metrics(): Promise<string> {
  const management = /"management":"(http:\/\/[^"]+)"/.exec(local.stderr())?.[1];
  assert.ok(management, "the management URL in patchbay local's log");
  return (await fetch(`${management}/metrics`)).text();
}

function metric(text: string, name: string, labels: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? 0 : Number(line.split(" ").at(-1));
}

function defineSuite(withBus: boolean): void {
  describe(withBus ? "with the JetStream event bus" : "in front of the router", () => {
    let nats: NatsServer | undefined;

    before(async () => {
      received.length = 0;
      if (withBus) nats = await NatsServer.start();
      api = await startKubeApiDouble({ namespaces: ["default", "shop"] });
      api.create({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: POD, namespace: "shop", labels: { app: "api" } },
        spec: { containers: [{ name: "api", image: "shop/api:1.4" }] },
      });
      const kubeconfig = await api.writeKubeconfig();
      receiver = createServer((request, response) => {
        let body = "";
        request.on("data", (chunk: Buffer) => (body += chunk.toString()));
        request.on("end", () => {
          received.push(JSON.parse(body) as Received);
          response.writeHead(200).end();
        });
      });
      await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
      const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
      dir = await mkdtemp(path.join(tmpdir(), "patchbay-actions-"));
      await writeFile(
        path.join(dir, "plane.yaml"),
        `${prometheusSourceManifest()}---
${kubectlExecutorManifest(kubeconfig)}---
apiVersion: patchbay.dev/v1alpha1
kind: Notifier
metadata: {name: hook}
spec:
  type: webhook
  webhook: {url: {value: ${JSON.stringify(receiverUrl)}}}
  delivery: {ratePerSecond: 0}
---
apiVersion: patchbay.dev/v1alpha1
kind: Action
metadata: {name: pod-diagnosis}
spec:
  sources: {names: [alertmanager]}
  filter: {types: [dev.patchbay.prometheus.alert.firing], subject: "^(KubePodCrashLooping|Injection[0-9])$"}
  command: "kubectl get pod {{ data.labels.pod }} -n {{data.labels.namespace}} -o wide"
  executors: [kubectl]
  result: {mode: attach, deadlineSeconds: 15}
  limits: {windowSeconds: 300, maxConcurrent: 8}
---
apiVersion: patchbay.dev/v1alpha1
kind: Action
metadata: {name: pod-followup}
spec:
  filter: {subject: "^KubePodNotReady$"}
  command: "kubectl get pod {{data.labels.pod}} -n {{data.labels.namespace}}"
  executors: [kubectl]
  result: {mode: followUp, notifiers: [hook]}
`,
      );
      local = await startPatchbayLocal(dir, nats ? ["--event-bus", nats.url] : []);
      // Both plugins are up once the source takes a payload and the executor answers a typed command.
      await waitFor(async () => (await local.command("kubectl version --client")).body.status === "ok", {
        what: "the kubectl executor",
        timeoutMs: 20_000,
      }).catch(async (error: unknown) => {
        throw new Error(
          `${(error as Error).message}: ${JSON.stringify(await local.command("kubectl version --client"))}\n${local.stderr()}`,
        );
      });
    });

    after(async () => {
      await local?.stop();
      await api?.close();
      await new Promise((resolve) => receiver?.close(resolve));
      if (dir) await rm(dir, { recursive: true, force: true });
      await nats?.dispose();
    });

    describe("an Action attaches kubectl's answer to the alert", () => {
      it("runs the command for the alert's Pod and the webhook receives the alert with the output", async () => {
        assert.equal(await postAlert(alert("KubePodCrashLooping", POD, "2026-11-25T04:58:21.123Z")), 202);
        const delivered = await waitFor(
          () => received.find((event) => event.subject === "KubePodCrashLooping"),
          {
            what: "the alert at the receiver",
            timeoutMs: 20_000,
          },
        );
        assert.equal(delivered.type, "dev.patchbay.prometheus.alert.firing");
        const [answer, ...others] = delivered.data.actions ?? [];
        assert.equal(others.length, 0);
        assert.ok(answer, `no attached answer: ${JSON.stringify(delivered.data)}`);
        assert.equal(answer.action, "pod-diagnosis");
        assert.equal(answer.status, "ok", answer.error);
        assert.equal(answer.command, `'kubectl' 'get' 'pod' '${POD}' '-n' 'shop' '-o' 'wide'`);
        assert.match(answer.output, /^NAME\s+READY\s+STATUS/m);
        assert.match(answer.output, new RegExp(`^${POD}\\s`, "m"));
        // kubectl really asked the API (double) for that Pod.
        assert.ok(
          api.requests.some((r) => r.method === "GET" && r.path === `/api/v1/namespaces/shop/pods/${POD}`),
        );
      });

      it("runs nothing for the same alert again within the window, re-sent or re-fired", async () => {
        const before = received.length;
        const getsBefore = api.requests.filter((r) => r.path.endsWith(`/pods/${POD}`)).length;
        // The very same notification (Alertmanager's retry): a duplicate, dropped whole.
        assert.equal(await postAlert(alert("KubePodCrashLooping", POD, "2026-11-25T04:58:21.123Z")), 202);
        // The same alert firing again (new startsAt, new event id): delivered, but the window skips the run.
        assert.equal(await postAlert(alert("KubePodCrashLooping", POD, "2026-11-25T05:10:00Z")), 202);
        const again = await waitFor(() => received.length > before && received.at(-1), {
          what: "the re-fired alert at the receiver",
          timeoutMs: 20_000,
        });
        assert.equal(again.subject, "KubePodCrashLooping");
        assert.equal(again.data.actions, undefined, "nothing ran, so nothing is attached");
        assert.equal(received.length, before + 1, "the duplicate was not delivered");
        const text = await metrics();
        assert.equal(metric(text, "patchbay_action_runs_total", 'action="pod-diagnosis",result="ok"'), 1);
        assert.equal(
          metric(text, "patchbay_action_skips_total", 'action="pod-diagnosis",reason="window"'),
          1,
        );
        assert.equal(
          metric(text, "patchbay_action_run_duration_seconds_count", 'action="pod-diagnosis",result="ok"'),
          1,
        );
        assert.equal(api.requests.filter((r) => r.path.endsWith(`/pods/${POD}`)).length, getsBefore);
        assert.match(local.stderr(), /"message":"action skipped".*"reason":"window"/);
      });

      it("followUp: the alert goes out at once, the output follows as an event naming it", async () => {
        assert.equal(await postAlert(alert("KubePodNotReady", POD, "2026-11-25T07:00:00Z")), 202);
        const followUp = await waitFor(
          () => received.find((event) => event.type === "dev.patchbay.action.result"),
          { what: "the follow-up at the receiver", timeoutMs: 20_000 },
        );
        const original = received.find((event) => event.subject === "KubePodNotReady");
        assert.ok(original, "the alert itself was delivered");
        assert.equal(original.data.actions, undefined, "followUp attaches nothing to the alert");
        assert.ok(received.indexOf(original) < received.indexOf(followUp), "the alert went out first");
        const data = followUp.data as unknown as {
          answers: string;
          action: string;
          status: string;
          output: string;
        };
        assert.equal(data.answers, original.id);
        assert.equal(data.action, "pod-followup");
        assert.equal(data.status, "ok");
        assert.match(data.output, new RegExp(`^${POD}\\s`, "m"));
        assert.equal(followUp.subject, "KubePodNotReady");
      });

      it("gives each injected label value to kubectl's policy as one literal argument", async () => {
        const before = received.length;
        for (const [i, value] of INJECTIONS.entries())
          assert.equal(await postAlert(alert(`Injection${i}`, value, "2026-11-25T06:00:00Z")), 202);
        const events = await waitFor(
          () => {
            const got = received.slice(before).filter((e) => e.subject?.startsWith("Injection"));
            return got.length === INJECTIONS.length && got;
          },
          { what: "the injection alerts at the receiver", timeoutMs: 30_000 },
        );
        const answers = new Map(events.map((e) => [e.data.labels.pod!, e.data.actions?.[0]]));
        const quoted = (value: string) => `'${value.replaceAll("'", "'\\''")}'`;
        for (const value of INJECTIONS) {
          const answer = answers.get(value);
          assert.ok(answer, `no answer attached for ${value}`);
          assert.equal(answer.command, `'kubectl' 'get' 'pod' ${quoted(value)} '-n' 'shop' '-o' 'wide'`);
        }
        // Shell metacharacters: the policy names the whole value as one argument and refuses it.
        for (const value of ["x; rm -rf /", "$(id)"]) {
          const answer = answers.get(value)!;
          assert.equal(answer.status, "forbidden");
          assert.equal(
            answer.error,
            `argument ${JSON.stringify(value)} contains a shell metacharacter; refused`,
          );
        }
        // A flag smuggled in a label is still one argument, read by the policy as the flag it spells.
        const flag = answers.get("--kubeconfig=/etc/x")!;
        assert.equal(flag.status, "forbidden");
        assert.match(flag.error, /^flag --kubeconfig is not allowed/);
        // A space does not split: kubectl asked the API for one Pod named "a b".
        const spaced = answers.get("a b")!;
        assert.notEqual(spaced.status, "ok");
        assert.match(`${spaced.output}\n${spaced.error}`, /pods "a b" not found/);
        const podReads = api.requests
          .map((r) => r.path)
          .filter((p) => p.startsWith("/api/v1/namespaces/shop/pods/"));
        assert.ok(podReads.includes("/api/v1/namespaces/shop/pods/a%20b"), JSON.stringify(podReads));
        // Nothing else reached the API: the refused values were never run, nor any piece of a split one.
        assert.deepEqual(
          new Set(podReads),
          new Set([`/api/v1/namespaces/shop/pods/${POD}`, "/api/v1/namespaces/shop/pods/a%20b"]),
        );
      });
    });
  });
}

defineSuite(false);
defineSuite(true);
