#!/usr/bin/python3
"""py-echo: a Patchbay executor in Python, written against proto/ alone.

It uses Debian's python3-grpcio and python3-protobuf and the code protoc generated from the repository's
proto/ files into generated/ (./generate.sh); no Patchbay SDK. It does what the README's "Plugins in
other languages" asks of any plugin: listen on PATCHBAY_PLUGIN_ADDRESS, print the handshake line, serve
grpc.health.v1, answer Describe with protocol version 1 and the config's JSON Schema, and stop cleanly
on SIGTERM (or when patchbay local, its parent, goes away).
"""
import json
import os
import signal
import sys
import threading
from concurrent import futures

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "generated"))

import grpc  # noqa: E402  (after the path to the generated modules)
import health_pb2  # noqa: E402
import health_pb2_grpc  # noqa: E402
from patchbay.v1 import executor_pb2, executor_pb2_grpc, plugin_pb2  # noqa: E402

PROTOCOL_MAJOR = 1
EXECUTOR_SERVICE = "patchbay.v1.Executor"
CONFIG_SCHEMA = {
    "type": "object",
    "properties": {"upperCase": {"type": "boolean", "default": False, "description": "shout the answer"}},
    "additionalProperties": False,
}
Status = health_pb2.HealthCheckResponse.ServingStatus


def read_config(config_json):
    """The config as a dict, or raises ValueError naming the problem (the host validated it already)."""
    config = json.loads(config_json) if config_json else {}
    if not isinstance(config, dict):
        raise ValueError("config must be an object")
    for key in config:
        if key not in CONFIG_SCHEMA["properties"]:
            raise ValueError(f"config has unknown property '{key}'")
    upper_case = config.get("upperCase", False)
    if not isinstance(upper_case, bool):
        raise ValueError("config.upperCase must be boolean")
    return {"upperCase": upper_case}


class Executor(executor_pb2_grpc.ExecutorServicer):
    def Describe(self, request, context):
        return plugin_pb2.DescribeResponse(
            protocol_version=plugin_pb2.ProtocolVersion(major=PROTOCOL_MAJOR, minor=0),
            kind=plugin_pb2.PLUGIN_KIND_EXECUTOR,
            name="py-echo",
            version="1.0.0",
            description="Echoes its arguments back; written in Python from the proto files.",
            config_schema_json=json.dumps(CONFIG_SCHEMA),
        )

    def Execute(self, request, context):
        try:
            config = read_config(request.config_json)
        except ValueError as problem:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"invalid config: {problem}")
        words = list(request.args[1:])  # args[0] is the prefix
        if not words:
            return executor_pb2.ExecuteResponse(
                error_code=executor_pb2.EXECUTE_ERROR_CODE_INVALID_ARGUMENT,
                error_message=f"usage: {request.prefix} <text>",
            )
        text = " ".join(words)
        return executor_pb2.ExecuteResponse(output=text.upper() if config["upperCase"] else text)

    def Help(self, request, context):
        return executor_pb2.HelpResponse(text="py-echo <text> — answers with <text> (a plugin in Python).")


class Health(health_pb2_grpc.HealthServicer):
    """grpc.health.v1: "" and the executor service are SERVING until shutdown; Watch follows changes."""

    def __init__(self):
        self._changed = threading.Condition()
        self._status = {"": Status.SERVING, EXECUTOR_SERVICE: Status.SERVING}
        self._stopping = False

    def Check(self, request, context):
        status = self._status.get(request.service)
        if status is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service '{request.service}'")
        return health_pb2.HealthCheckResponse(status=status)

    def Watch(self, request, context):
        last = None
        with self._changed:
            while context.is_active():
                status = self._status.get(request.service, Status.SERVICE_UNKNOWN)
                if status != last:
                    last = status
                    yield health_pb2.HealthCheckResponse(status=status)
                if self._stopping:
                    return
                self._changed.wait(timeout=1)

    def stop_serving(self):
        with self._changed:
            self._status = {service: Status.NOT_SERVING for service in self._status}
            self._stopping = True
            self._changed.notify_all()


def main():
    requested = os.environ.get("PATCHBAY_PLUGIN_ADDRESS") or "127.0.0.1:0"
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    health = Health()
    executor_pb2_grpc.add_ExecutorServicer_to_server(Executor(), server)
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    port = server.add_insecure_port(requested)
    if port == 0:
        print(f"py-echo: cannot listen on {requested}", file=sys.stderr)
        sys.exit(1)
    server.start()
    host = requested.rsplit(":", 1)[0]
    shown = "127.0.0.1" if host in ("", "0.0.0.0", "[::]") else host
    # The handshake: the one line on stdout that tells the host where the plugin listens.
    print(f"PATCHBAY_PLUGIN|{PROTOCOL_MAJOR}|tcp|{shown}:{port}|grpc", flush=True)
    print(json.dumps({"level": "info", "message": "plugin listening", "address": f"{shown}:{port}"}), file=sys.stderr)

    done = threading.Event()

    def shut_down(*_):
        if done.is_set():
            return
        health.stop_serving()
        # In-flight calls get five seconds, then the server stops regardless.
        server.stop(grace=5).wait()
        done.set()

    signal.signal(signal.SIGTERM, shut_down)
    signal.signal(signal.SIGINT, shut_down)
    if os.environ.get("PATCHBAY_PLUGIN_EXIT_WITH_PARENT") == "1":
        # Under patchbay local stdin is a pipe from the host: when it closes, the host is gone.
        threading.Thread(target=lambda: (sys.stdin.read(), shut_down()), daemon=True).start()
    done.wait()


if __name__ == "__main__":
    main()
