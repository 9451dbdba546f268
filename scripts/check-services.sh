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
# The Redis Cluster tests start their own three-master cluster: they need the binaries (sharded
# pub/sub, SSUBSCRIBE/SPUBLISH, came with Redis 7).
for bin in redis-server redis-cli; do
  if ! command -v "$bin" >/dev/null; then
    echo "$bin is not installed: the Redis Cluster tests start a cluster with it." >&2
    exit 1
  fi
done
redis_major=$(redis-server --version | sed -E 's/.* v=([0-9]+).*/\1/')
if [ "${redis_major:-0}" -lt 7 ]; then
  echo "redis-server $redis_major is too old: the Redis Cluster tests need 7 or later (sharded pub/sub)." >&2
  exit 1
fi
echo "Postgres and Redis are up."
