// js-echo: an executor plugin in plain JavaScript, written against the .proto files alone — no
// Patchbay SDK, no generated code. It is the proof that any language with gRPC can be a plugin.
import process from "node:process";
import { setTimeout } from "node:timers";
import { fileURLToPath, URL } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const PROTOCOL = { major: 1, minor: 0 };
const EXECUTOR_SERVICE = "patchbay.v1.Executor";
const CONFIG_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: {
    upperCase: { type: "boolean", default: false, description: "Shout the answer." },
    separator: { type: "string", maxLength: 8, default: " ", description: "Put between the words." },
  },
};

const protoRoot = fileURLToPath(new URL("../../proto/", import.meta.url));
const definition = protoLoader.loadSync(["patchbay/v1/executor.proto", "grpc/health/v1/health.proto"], {
  includeDirs: [protoRoot],
  enums: String,
  defaults: true,
});
const loaded = grpc.loadPackageDefinition(definition);
const { Executor } = loaded.patchbay.v1;
const { Health } = loaded.grpc.health.v1;

/** Parses and checks the config by hand; returns [config] or [undefined, problem]. */
function readConfig(configJson) {
  let config;
  try {
    config = configJson === "" ? {} : JSON.parse(configJson);
  } catch (err) {
    return [undefined, `config is not valid JSON: ${err.message}`];
  }
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    return [undefined, "config must be an object"];
  }
  for (const key of Object.keys(config)) {
    if (!(key in CONFIG_SCHEMA.properties)) return [undefined, `config has unknown property '${key}'`];
  }
  const { upperCase = false, separator = " " } = config;
  if (typeof upperCase !== "boolean") return [undefined, "config.upperCase must be boolean"];
  if (typeof separator !== "string" || separator.length > 8) {
    return [undefined, "config.separator must be a string of at most 8 characters"];
  }
  return [{ upperCase, separator }];
}

function invalidConfig(problem) {
  return { code: grpc.status.INVALID_ARGUMENT, details: `invalid config: ${problem}` };
}

const executor = {
  Describe(_call, callback) {
    callback(null, {
      protocolVersion: PROTOCOL,
      kind: "PLUGIN_KIND_EXECUTOR",
      name: "js-echo",
      version: "1.0.0",
      description: "Echoes its arguments back; written in plain JavaScript from the proto files.",
      configSchemaJson: JSON.stringify(CONFIG_SCHEMA),
    });
  },
  Execute(call, callback) {
    const { args, configJson } = call.request;
    const [config, problem] = readConfig(configJson);
    if (!config) return callback(invalidConfig(problem));
    const words = args.slice(1);
    if (words.length === 0) {
      return callback(null, {
        errorCode: "EXECUTE_ERROR_CODE_INVALID_ARGUMENT",
        errorMessage: "usage: js-echo <text>",
      });
    }
    const text = words.join(config.separator);
    callback(null, {
      output: config.upperCase ? text.toUpperCase() : text,
      errorCode: "EXECUTE_ERROR_CODE_OK",
    });
  },
  Help(call, callback) {
    const [config, problem] = readConfig(call.request.configJson);
    if (!config) return callback(invalidConfig(problem));
    callback(null, { text: "js-echo <text> — answers with <text> (a plugin in plain JavaScript)." });
  },
};

// grpc.health.v1: the whole server ("") and the executor service are SERVING until shutdown.
const serving = new Map([
  ["", "SERVING"],
  [EXECUTOR_SERVICE, "SERVING"],
]);
const watchers = new Set();
const health = {
  Check(call, callback) {
    const status = serving.get(call.request.service);
    if (!status)
      return callback({ code: grpc.status.NOT_FOUND, details: `unknown service '${call.request.service}'` });
    callback(null, { status });
  },
  Watch(call) {
    call.write({ status: serving.get(call.request.service) ?? "SERVICE_UNKNOWN" });
    watchers.add(call);
    call.on("cancelled", () => watchers.delete(call));
  },
};

const server = new grpc.Server();
server.addService(Executor.service, executor);
server.addService(Health.service, health);

const requested = process.env.PATCHBAY_PLUGIN_ADDRESS || "127.0.0.1:0";
server.bindAsync(requested, grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    console.error(`js-echo: cannot listen on ${requested}: ${err.message}`);
    process.exit(1);
  }
  const host = requested.slice(0, requested.lastIndexOf(":"));
  const shown = host === "" || host === "0.0.0.0" || host === "[::]" ? "127.0.0.1" : host;
  // The handshake: the host reads this one line to learn where the plugin listens.
  process.stdout.write(`PATCHBAY_PLUGIN|${PROTOCOL.major}|tcp|${shown}:${port}|grpc\n`);
});

function shutdown() {
  for (const service of serving.keys()) serving.set(service, "NOT_SERVING");
  for (const call of watchers) {
    call.write({ status: "NOT_SERVING" });
    call.end();
  }
  watchers.clear();
  server.tryShutdown(() => process.exit(0));
  // In-flight calls get a few seconds; then the server stops regardless.
  setTimeout(() => {
    server.forceShutdown();
    process.exit(0);
  }, 5000).unref();
}
process.once("SIGTERM", shutdown);
process.once("SIGINT", shutdown);
