#!/usr/bin/env bash
# The test command: makes sure the services the tests use are present, then runs
# every test in the workspace.
#
#   * Python's grpcio, grpcio-tools and grpcio-reflection, for the test that
#     drives a node with a generated Python client (a client no one here wrote);
#
# Idempotent; needs network access only the first time.
set -euo pipefail
cd "$(dirname "$0")/.."

ensure_python_grpc() {
  if python3 -c 'import grpc, grpc_tools, grpc_reflection' 2>/dev/null; then
    return
  fi
  echo "== installing grpcio, grpcio-tools, grpcio-reflection (PyPI)"
  python3 -m pip install --quiet --disable-pip-version-check \
    'grpcio==1.85.*' 'grpcio-tools==1.85.*' 'grpcio-reflection==1.85.*'
}

ensure_python_grpc
cargo test --workspace "$@"
