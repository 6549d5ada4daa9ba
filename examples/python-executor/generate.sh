#!/usr/bin/env bash
# Regenerates generated/ from the repository's proto/ with Debian's compilers: protoc (protobuf-compiler)
# and grpc_python_plugin (protobuf-compiler-grpc), the versions that match Debian's python3-protobuf and
# python3-grpcio. test/python/python-executor.test.ts fails when the committed code is stale.
#   examples/python-executor/generate.sh [OUT_DIR]   (default: examples/python-executor/generated)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
proto="$here/../../proto"
out="${1:-$here/generated}"
rm -rf "$out" && mkdir -p "$out"
# The Patchbay protocol: modules patchbay.v1.*_pb2 (and *_pb2_grpc for the services).
protoc -I "$proto" --python_out="$out" --grpc_out="$out" --plugin=protoc-gen-grpc="$(command -v grpc_python_plugin)" \
  patchbay/v1/plugin.proto patchbay/v1/executor.proto
# grpc.health.v1 as top-level health_pb2 / health_pb2_grpc: under its own path it would be the Python
# package `grpc.health`, which grpcio's own `grpc` package shadows. The service keeps its wire name,
# grpc.health.v1.Health, which comes from the proto's package statement, not the file's path.
protoc -I "$proto/grpc/health/v1" --python_out="$out" --grpc_out="$out" \
  --plugin=protoc-gen-grpc="$(command -v grpc_python_plugin)" health.proto
