#!/usr/bin/env bash
# The OpenAPI document against the real server: Schemathesis, every check, on each store.
#
#   tests/openapi/run.sh [sqlite] [postgres]      (both by default; also `make test-openapi`)
#
# For each store it builds nothing new (the debug `chat-server` of the workspace build, `make build`,
# which the other tests use too), starts the server on a free port over a fresh store (a new
# SQLite file; or a new Postgres schema with Redis under a fresh key prefix), creates an admin with
# `chat-server create-admin`, and runs `schemathesis run --checks all` against
# /api/v1/openapi.json, authenticated by tests/openapi/hooks.py (an admin, and a client for the
# operations only clients do). Any failure fails the script. Schemathesis is pinned in
# requirements.txt and installed into tests/openapi/.venv (git-ignored), reused when its pins match.
#
# Environment: DATABASE_URL, REDIS_URL (as the rest of the suite), OPENAPI_MAX_EXAMPLES (per
# operation and phase, default 25), OPENAPI_SEED (to replay a run), OPENAPI_PYTHON (python3).
# Reports (JUnit, server logs) go to tests/artifacts/openapi/.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/tests/openapi"
VENV="$HERE/.venv"
ARTIFACTS="$ROOT/tests/artifacts/openapi"
DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
MAX_EXAMPLES=${OPENAPI_MAX_EXAMPLES:-25}
PYTHON=${OPENAPI_PYTHON:-python3}
cd "$ROOT"

stores=("$@")
if [ ${#stores[@]} -eq 0 ]; then stores=(sqlite postgres); fi
for store in "${stores[@]}"; do
  case "$store" in sqlite | postgres) ;; *) echo "openapi test: unknown store $store" >&2; exit 2 ;; esac
done

# --- Schemathesis, pinned -----------------------------------------------------------------------
if [ ! -x "$VENV/bin/schemathesis" ] || ! cmp -s "$HERE/requirements.txt" "$VENV/requirements.installed"; then
  echo "openapi test: installing Schemathesis into $VENV"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
  cp "$HERE/requirements.txt" "$VENV/requirements.installed"
fi

# --- the server ---------------------------------------------------------------------------------
# The workspace build (`make build`): building the server alone would resolve features
# differently and compile it a second time.
echo "openapi test: building the workspace (nothing to do after make build)"
cargo build --quiet --workspace --all-targets
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps |
  "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
BIN="$TARGET_DIR/debug/chat-server"
mkdir -p "$ARTIFACTS"

WORK=""
SERVER_PID=""
SCHEMA=""
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
  if [ -n "$SCHEMA" ]; then
    psql -q "$DATABASE_URL" -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1 || true
    SCHEMA=""
  fi
  if [ -n "$WORK" ]; then
    rm -rf "$WORK"
    WORK=""
  fi
}
trap stop_server EXIT
trap 'exit 130' INT TERM

run_store() {
  local store=$1
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/chat-openapi-test.XXXXXX")
  local port
  port=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$WORK/config"
  # Only the committed defaults: a developer's config/local.toml must not change the test.
  cp "$ROOT/config/default.toml" "$WORK/config/"
  unset CHAT__DATABASE__URL CHAT__REDIS__URL CHAT__REDIS__CHANNEL_PREFIX
  export CHAT_CONFIG_DIR="$WORK/config"
  export CHAT__SERVER__HOST=127.0.0.1
  export CHAT__SERVER__PORT="$port"
  export CHAT__SERVER__WORKERS=2
  export CHAT__AUTH__BCRYPT_COST=4
  export CHAT__AUTH__ALLOW_INSECURE_COST=true
  # Every request comes from 127.0.0.1 and the run fails log-ins by the hundred on purpose: the
  # per-address lockout would lock the test's own identities out. (Per username it stays on.)
  export CHAT__AUTH__LOGIN_MAX_FAILURES_PER_IP=1000000000
  export CHAT__LOG__FORMAT=human
  export CHAT__LOG__LEVEL=${CHAT__LOG__LEVEL:-warn}
  if [ "$store" = postgres ]; then
    SCHEMA="openapi_$$_$(date +%s%N)"
    psql -q -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "CREATE SCHEMA $SCHEMA" >/dev/null
    local separator='?'
    case "$DATABASE_URL" in *'?'*) separator='&' ;; esac
    export CHAT__DATABASE__URL="${DATABASE_URL}${separator}options=-csearch_path%3D${SCHEMA}"
    export CHAT__REDIS__URL="$REDIS_URL"
    export CHAT__REDIS__CHANNEL_PREFIX="$SCHEMA"
  else
    export CHAT__DATABASE__SQLITE_PATH="$WORK/chat.db"
  fi

  export OPENAPI_BASE_URL="http://127.0.0.1:$port"
  export OPENAPI_SERVER_BIN="$BIN"
  export OPENAPI_ADMIN=openapi_admin
  OPENAPI_PASSWORD="pw-$("$PYTHON" -c 'import secrets; print(secrets.token_hex(12))')"
  export OPENAPI_PASSWORD
  "$BIN" create-admin --username "$OPENAPI_ADMIN" --password "$OPENAPI_PASSWORD" >"$WORK/server.log" 2>&1

  "$BIN" serve >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 120); do
    if curl -fsS "$OPENAPI_BASE_URL/healthz" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "openapi test: the server exited early" >&2
      cat "$WORK/server.log" >&2
      return 1
    fi
    sleep 0.5
  done
  curl -fsS "$OPENAPI_BASE_URL/healthz" >/dev/null

  echo "openapi test: schemathesis on $store at $OPENAPI_BASE_URL"
  local seed_args=()
  if [ -n "${OPENAPI_SEED:-}" ]; then seed_args=(--seed "$OPENAPI_SEED"); fi
  local status=0
  # One worker: Python 3.11 before 3.11.8 can crash parsing source in several threads at once.
  # From $WORK: Schemathesis keeps a cache of past failures under ./.schemathesis; each run
  # starts clean.
  (cd "$WORK" && PYTHONPATH="$HERE" SCHEMATHESIS_HOOKS=hooks "$VENV/bin/schemathesis" run \
    "$OPENAPI_BASE_URL/api/v1/openapi.json" \
    --checks all \
    --workers 1 \
    --max-examples "$MAX_EXAMPLES" \
    --request-timeout 10 \
    --report junit --report-junit-path "$ARTIFACTS/junit-$store.xml" \
    "${seed_args[@]}") || status=$?
  cp "$WORK/server.log" "$ARTIFACTS/server-$store.log"
  if [ "$status" -ne 0 ]; then
    echo "openapi test: FAILED on $store (server log: tests/artifacts/openapi/server-$store.log)" >&2
    return "$status"
  fi
  stop_server
}

for store in "${stores[@]}"; do
  run_store "$store"
done
echo "openapi test: the document holds on ${stores[*]}"
