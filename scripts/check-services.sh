#!/usr/bin/env bash
# Fails (never skips) when Postgres or Redis, which the test suite needs, cannot be reached.
set -euo pipefail
db_url=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
redis_url=${REDIS_URL:-redis://127.0.0.1:6379}
if ! psql "$db_url" -Atqc 'select 1' >/dev/null 2>&1; then
  echo "Postgres is not reachable at $db_url: the tests need it (see README)." >&2
  exit 1
fi
redis_host=$(sed -E 's#redis://([^:/]+).*#\1#' <<<"$redis_url")
redis_port=$(sed -E 's#redis://[^:/]+:?([0-9]*).*#\1#' <<<"$redis_url")
if [ "$(redis-cli -h "$redis_host" -p "${redis_port:-6379}" ping 2>/dev/null)" != "PONG" ]; then
  echo "Redis is not reachable at $redis_url: the tests need it (see README)." >&2
  exit 1
fi
echo "Postgres and Redis are up."
