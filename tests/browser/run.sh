#!/usr/bin/env bash
# End-to-end browser test: builds and starts the real chat-server on a free port with a fresh
# SQLite file, then drives Debian's headless Chromium through playwright-core (no browser download).
# Installs what is missing: the `chromium` package (apt-get) and node_modules (npm ci).
# Screenshots and the server log land in tests/artifacts/. Exits non-zero on failure.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/tests/browser"
ARTIFACTS="$ROOT/tests/artifacts"
export CHROMIUM_PATH=${CHROMIUM_PATH:-/usr/bin/chromium}
cd "$ROOT"

# --- what the test needs ------------------------------------------------------------------------
if [ ! -x "$CHROMIUM_PATH" ]; then
  echo "browser test: installing Debian's chromium package"
  SUDO=()
  if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo -n); fi
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
fi
if [ ! -d "$HERE/node_modules/playwright-core" ] || [ ! -d "$HERE/node_modules/axe-core" ]; then
  echo "browser test: installing node modules (npm ci)"
  (cd "$HERE" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi

# The workspace build (`make build`, which `make test` ran already): building the server alone
# would resolve features differently and compile it, and much of its tree, a second time.
echo "browser test: building the workspace (nothing to do after make build)"
cargo build --quiet --workspace --all-targets
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')
BIN="$TARGET_DIR/debug/chat-server"

# --- a fresh server -----------------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/chat-browser-test.XXXXXX")
SUPERVISOR_PID=""
cleanup() {
  local status=$?
  touch "$WORK/stop"
  rm -f "$WORK/hold"
  if [ -f "$WORK/server.pid" ]; then
    kill "$(cat "$WORK/server.pid")" 2>/dev/null || true
  fi
  if [ -n "$SUPERVISOR_PID" ]; then
    wait "$SUPERVISOR_PID" 2>/dev/null || true
  fi
  mkdir -p "$ARTIFACTS"
  cp "$WORK/server.log" "$ARTIFACTS/server.log" 2>/dev/null || true
  if [ "$status" -ne 0 ] && [ -f "$WORK/server.log" ]; then
    echo "browser test: FAILED; last lines of the server log:" >&2
    tail -n 40 "$WORK/server.log" >&2 || true
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
mkdir -p "$WORK/config"
# Only the committed defaults: a developer's config/local.toml must not change the test.
cp "$ROOT/config/default.toml" "$WORK/config/" 2>/dev/null || true
unset CHAT__DATABASE__URL CHAT__REDIS__URL
export CHAT_CONFIG_DIR="$WORK/config"
export CHAT__SERVER__HOST=127.0.0.1
export CHAT__SERVER__PORT="$PORT"
export CHAT__SERVER__WORKERS=2
export CHAT__DATABASE__SQLITE_PATH="$WORK/chat.db"
export CHAT__AUTH__BCRYPT_COST=4
export CHAT__AUTH__ALLOW_INSECURE_COST=true
# A short lease, so the test sees the console renew a claim that is not on screen before it lapses.
export CHAT__CLAIMS__LEASE_SECONDS=30
export CHAT__LOG__FORMAT=human
export CHAT__LOG__LEVEL=${CHAT__LOG__LEVEL:-info}

export E2E_ADMIN_USERNAME=e2e_admin
E2E_ADMIN_PASSWORD="admin-$(node -e 'console.log(require("crypto").randomBytes(12).toString("hex"))')"
export E2E_ADMIN_PASSWORD
"$BIN" create-admin --username "$E2E_ADMIN_USERNAME" --password "$E2E_ADMIN_PASSWORD" >>"$WORK/server.log" 2>&1

# The server runs under a small supervisor: the test kills it (SIGKILL, like a crash or a network
# drop) to check that pages reconnect and resume, and it comes back on the same SQLite file once the
# test removes $WORK/hold.
(
  starts=0
  while [ ! -e "$WORK/stop" ] && [ "$starts" -lt 5 ]; do
    starts=$((starts + 1))
    "$BIN" serve >>"$WORK/server.log" 2>&1 &
    echo $! >"$WORK/server.pid"
    wait $! || true
    while [ -e "$WORK/hold" ] && [ ! -e "$WORK/stop" ]; do sleep 0.1; done
  done
) 2>>"$WORK/server.log" &
SUPERVISOR_PID=$!
export E2E_SERVER_PIDFILE="$WORK/server.pid"
export E2E_SERVER_HOLDFILE="$WORK/hold"
export BASE_URL="http://127.0.0.1:$PORT"
for _ in $(seq 1 120); do
  if curl -fsS "$BASE_URL/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$SUPERVISOR_PID" 2>/dev/null; then echo "browser test: the server exited early" >&2; exit 1; fi
  sleep 0.5
done
curl -fsS "$BASE_URL/healthz" >/dev/null

# --- the scenario -------------------------------------------------------------------------------
export ARTIFACTS
mkdir -p "$ARTIFACTS"
rm -f "$ARTIFACTS"/*.png
echo "browser test: running against $BASE_URL"
node "$HERE/e2e.mjs"
