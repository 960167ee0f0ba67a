#!/usr/bin/env bash
# The test command: makes sure the services the tests use are present, then runs
# every test in the workspace.
#
#   * Python's grpcio, grpcio-tools and grpcio-reflection, for the test that
#     drives a node with a generated Python client (a client no one here wrote);
#   * a PostgreSQL server (Debian's package), with a `crossforest` role and a
#     fresh `crossforest_test` database, for the PostgreSQL store's tests; the
#     scenario and crash tests then run a second time with the resource
#     forest on it.
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

# Starts the distribution's PostgreSQL (installing it when missing), creates
# the test role and a fresh test database, and exports their URL.
ensure_postgresql() {
  local url="postgres://crossforest:crossforest@127.0.0.1:5432/crossforest_test"
  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    echo "== installing postgresql (Debian)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
  fi
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "== starting postgresql"
    local version
    version="$(ls /usr/lib/postgresql | sort -n | tail -1)"
    if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version main"; then
      pg_createcluster "$version" main >/dev/null
    fi
    pg_ctlcluster "$version" main start
    for _ in $(seq 1 60); do
      pg_isready -q -h 127.0.0.1 -p 5432 && break
      sleep 0.5
    done
  fi
  su postgres -c "psql -q -v ON_ERROR_STOP=1" <<'SQL'
SELECT 'CREATE ROLE crossforest LOGIN PASSWORD ''crossforest'''
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'crossforest')\gexec
DROP DATABASE IF EXISTS crossforest_test WITH (FORCE);
CREATE DATABASE crossforest_test OWNER crossforest;
SQL
  export CROSSFOREST_TEST_POSTGRES="$url" CROSSFOREST_REQUIRE_POSTGRES=1
}

ensure_python_grpc
ensure_postgresql
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cargo test --workspace "$@" 2>&1 | tee "$log"
echo "== the scenario and crash tests again, with both node kinds on PostgreSQL"
# (--workspace --tests reuses the build above; the filters pick the scenario
# tests and both crash tests. The lab puts each account forest in a schema of
# its own beside the resource forest's.)
CROSSFOREST_TEST_STORE=postgres cargo test --workspace --tests "$@" -- \
  scenarios:: crash_at_many_points_loses_no_acknowledged 2>&1 | tee -a "$log"
# Every test run above, both passes together.
awk '/^test result:/ { passed += $4; failed += $6 }
     END { print "tests: " passed " passed, " failed " failed" }' "$log"
