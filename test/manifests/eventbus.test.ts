/**
 * config/eventbus, rendered by the real `kubectl kustomize config/ha`: a 3-server NATS JetStream whose
 * routes, Services, PodDisruptionBudget and NetworkPolicy agree with each other and with the manager,
 * the manager wired to it (PATCHBAY_EVENT_BUS, replicas 3, optional credentials), and a configuration a
 * real nats-server accepts. The default install (`kubectl kustomize .`) stays on the in-memory bus.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { before, describe, it } from "node:test";
import { MANAGER_POD_LABELS } from "../../src/operator/names.ts";
import { freePort, natsServerBinary } from "../support/nats-server.ts";
import { waitFor } from "../support/wait.ts";
import { kubectl, parseObjects, type K8sObject } from "./kubectl.ts";

let ha: K8sObject[];
let plain: K8sObject[];
const find = (objects: K8sObject[], kind: string, name: string) => {
  const object = objects.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(object, `${kind}/${name} is not rendered`);
  return object;
};
const managerEnv = (
  objects: K8sObject[],
): { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; optional?: boolean } } }[] =>
  find(objects, "Deployment", "patchbay-controller-manager").spec.template.spec.containers.find(
    (c: { name: string }) => c.name === "manager",
  ).env;
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

before(async () => {
  [ha, plain] = await Promise.all([
    kubectl(["kustomize", "config/ha"]).then((result) => parseObjects(result.stdout)),
    kubectl(["kustomize", "."]).then((result) => parseObjects(result.stdout)),
  ]);
});

describe("config/eventbus (through config/ha)", () => {
  const statefulSet = () => find(ha, "StatefulSet", "patchbay-nats");
  const podLabels = () => statefulSet().spec.template.metadata.labels;
  const container = () => statefulSet().spec.template.spec.containers[0];
  const config = () => find(ha, "ConfigMap", "patchbay-nats-config").data["nats.conf"] as string;

  it("installs everything the default install does, in patchbay-system, plus the bus", () => {
    const key = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
    const haKeys = new Set(ha.map(key));
    for (const object of plain) assert.ok(haKeys.has(key(object)), `${key(object)} missing from config/ha`);
    for (const object of ha.filter((o) => o.metadata.name.startsWith("patchbay-nats"))) {
      assert.equal(object.metadata.namespace, "patchbay-system", key(object));
      assert.equal(object.metadata.labels?.["app.kubernetes.io/part-of"], "patchbay", key(object));
    }
  });

  it("runs 3 servers of the official image, started together, with file storage on PersistentVolumeClaims", () => {
    assert.equal(statefulSet().spec.replicas, 3);
    assert.equal(statefulSet().spec.podManagementPolicy, "Parallel");
    assert.match(container().image, /^nats:2\.\d+\.\d+-alpine$/);
    assert.ok(matches(statefulSet().spec.selector.matchLabels, podLabels()));
    const [claim] = statefulSet().spec.volumeClaimTemplates;
    assert.equal(claim.spec.resources.requests.storage, "10Gi");
    const dataMount = container().volumeMounts.find((m: { name: string }) => m.name === claim.metadata.name);
    const storeDir = /store_dir: (\S+)/.exec(config())?.[1];
    assert.ok(storeDir?.startsWith(`${dataMount.mountPath}/`), `store_dir ${storeDir} on the claim`);
    assert.equal(container().securityContext.readOnlyRootFilesystem, true);
    assert.equal(statefulSet().spec.template.spec.securityContext.runAsNonRoot, true);
  });

  it("routes each server to all three by the headless Service's DNS names, on the cluster port", () => {
    const headless = find(ha, "Service", statefulSet().spec.serviceName);
    assert.equal(headless.spec.clusterIP, "None");
    assert.equal(headless.spec.publishNotReadyAddresses, true);
    assert.ok(matches(headless.spec.selector, podLabels()));
    const clusterPort = container().ports.find((p: { name: string }) => p.name === "cluster").containerPort;
    const routes = [...config().matchAll(/nats:\/\/(\S+)/g)].map((m) => m[1]);
    assert.deepEqual(
      routes,
      [0, 1, 2].map((i) => `patchbay-nats-${i}.${headless.metadata.name}:${clusterPort}`),
    );
  });

  it("keeps a quorum through voluntary disruptions, and admits clients only from the manager Pods", () => {
    const budget = find(ha, "PodDisruptionBudget", "patchbay-nats");
    assert.equal(budget.spec.maxUnavailable, 1);
    assert.ok(matches(budget.spec.selector.matchLabels, podLabels()));
    const policy = find(ha, "NetworkPolicy", "patchbay-nats");
    assert.ok(matches(policy.spec.podSelector.matchLabels, podLabels()));
    const clientRules = policy.spec.ingress.filter((rule: { ports: { port: string }[] }) =>
      rule.ports.some((p) => p.port === "client"),
    );
    const admitted = clientRules.flatMap((rule: { from?: { podSelector: { matchLabels: object } }[] }) =>
      (rule.from ?? []).map((peer) => peer.podSelector.matchLabels),
    );
    assert.ok(clientRules.every((rule: { from?: unknown[] }) => rule.from && rule.from.length > 0));
    assert.deepEqual(admitted, [MANAGER_POD_LABELS, podLabels()]);
  });

  it("wires the manager: PATCHBAY_EVENT_BUS is the client Service, streams with 3 replicas, optional credentials", () => {
    const env = new Map(managerEnv(ha).map((entry) => [entry.name, entry]));
    const client = find(ha, "Service", "patchbay-nats");
    assert.ok(matches(client.spec.selector, podLabels()));
    const clientPort = client.spec.ports.find((p: { name: string }) => p.name === "client");
    assert.equal(env.get("PATCHBAY_EVENT_BUS")?.value, `nats://${client.metadata.name}:${clientPort.port}`);
    assert.equal(env.get("PATCHBAY_EVENT_BUS_REPLICAS")?.value, String(statefulSet().spec.replicas));
    for (const name of ["USER", "PASSWORD", "TOKEN"]) {
      const secret = env.get(`PATCHBAY_EVENT_BUS_${name}`)?.valueFrom?.secretKeyRef;
      assert.equal(secret?.name, "patchbay-event-bus");
      assert.equal(
        secret?.optional,
        true,
        `PATCHBAY_EVENT_BUS_${name} must not block a start without the Secret`,
      );
    }
    // The rest of the manager's environment is kept.
    assert.ok(env.has("POD_NAMESPACE") && env.has("PATCHBAY_INGRESS_TOKENS_SECRET"));
  });

  it("leaves the default install on the in-memory bus", () => {
    assert.ok(!managerEnv(plain).some((entry) => entry.name.startsWith("PATCHBAY_EVENT_BUS")));
    assert.ok(!plain.some((object) => object.metadata.name.startsWith("patchbay-nats")));
  });

  it("has a configuration a real nats-server accepts, with JetStream and the cluster on", async () => {
    const [clientPort, httpPort, clusterPort] = [await freePort(), await freePort(), await freePort()];
    const dir = await mkdtemp(path.join(tmpdir(), "patchbay-nats-conf-"));
    // Only what must differ on a test host: ports and routes on loopback, the store and pid file in a
    // temporary folder. Every other line is the manifest's.
    const text = config()
      .replace("port: 4222", `host: 127.0.0.1\nport: ${clientPort}`)
      .replace("http_port: 8222", `http_port: ${httpPort}`)
      .replace("port: 6222", `host: 127.0.0.1\n  port: ${clusterPort}`)
      .replace(/nats:\/\/patchbay-nats-\d\.patchbay-nats-headless:6222/g, `nats://127.0.0.1:${clusterPort}`)
      .replace("/data/jetstream", path.join(dir, "jetstream"))
      .replace("/var/run/nats", dir);
    await writeFile(path.join(dir, "nats.conf"), text);
    const server = spawn(natsServerBinary(), ["--config", path.join(dir, "nats.conf")], {
      env: { PATH: process.env.PATH ?? "", POD_NAME: "patchbay-nats-0" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let log = "";
    server.stderr!.on("data", (chunk: Buffer) => (log = (log + chunk.toString()).slice(-20_000)));
    try {
      await waitFor(
        () => {
          if (server.exitCode !== null) throw new Error(`nats-server refused the configuration:\n${log}`);
          return log.includes("Server is ready");
        },
        { what: "nats-server ready", timeoutMs: 15_000 },
      );
      const varz = (await (await fetch(`http://127.0.0.1:${httpPort}/varz`)).json()) as {
        server_name: string;
        cluster: { name: string };
        jetstream: { config: { max_storage: number; store_dir: string } };
      };
      assert.equal(varz.server_name, "patchbay-nats-0");
      assert.equal(varz.cluster.name, "patchbay");
      assert.match(log, new RegExp(`Listening for route connections on 127\\.0\\.0\\.1:${clusterPort}`));
      assert.equal(varz.jetstream.config.max_storage, 9 * 1024 ** 3);
      assert.equal(varz.jetstream.config.store_dir, path.join(dir, "jetstream", "jetstream"));
    } finally {
      server.kill("SIGKILL");
      if (server.exitCode === null && server.signalCode === null) await once(server, "exit");
      await rm(dir, { recursive: true, force: true });
    }
  });
});
