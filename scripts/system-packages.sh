#!/usr/bin/env bash
# What the test suite needs that npm does not bring: the real kubectl (manifests, the kubectl executor),
# nats-server (the JetStream event bus) and Python's gRPC with Debian's protoc and its gRPC plugin (a
# plugin written from the proto files alone).
# Run by `npm test` (its pretest) and so by .ci/run. Missing packages are installed from Debian when this
# runs as root; otherwise it stops at once with the exact command to run. Never a silent skip.
set -euo pipefail

missing=()
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || missing+=(nats-server)
# Debian's python3-grpcio lives beside Debian's own python3, whatever python3 comes first on PATH.
/usr/bin/python3 -c 'import grpc' >/dev/null 2>&1 || missing+=(python3-grpcio)
# Debian's protoc and gRPC Python plugin: the Python plugin's committed code is checked against proto/.
command -v grpc_python_plugin >/dev/null 2>&1 || missing+=(protobuf-compiler-grpc)

[ ${#missing[@]} -eq 0 ] && exit 0

install="apt-get update && apt-get install -y ${missing[*]}"
if [ "${EUID}" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "system-packages: installing ${missing[*]} from Debian" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  exit 0
fi
echo "system-packages: the tests need ${missing[*]}; install with: sudo sh -c '$install'" >&2
exit 1
