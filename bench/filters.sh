#!/usr/bin/env bash
# Filter latency as the directory grows: seeds USERS users on a fresh database (SQLite, or the
# PostgreSQL URL in BENCH_POSTGRES_URL, whose schema is reset) and runs each filter with wrk.
# Usage: bench/filters.sh USERS [sqlite|postgres] [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${1:-10000}; BACKEND=${2:-sqlite}; SECONDS_PER=${3:-5}; CONNS=${4:-8}
export BENCH_DIR=$PWD/bench
cargo build --release --quiet --bin scimd
WORK=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
if [ "$BACKEND" = postgres ]; then
  : "${BENCH_POSTGRES_URL:?set BENCH_POSTGRES_URL}"
  psql -q "$BENCH_POSTGRES_URL" -c "DROP SCHEMA IF EXISTS scimd_bench CASCADE; CREATE SCHEMA scimd_bench;"
  export SCIMD_DATABASE_URL="${BENCH_POSTGRES_URL}?options=-csearch_path%3Dscimd_bench"
else
  export SCIMD_DATABASE_URL="sqlite://$WORK/bench.db"
fi
export SCIMD_BIND=127.0.0.1:18082 RUST_LOG=warn
TOKEN=$(./target/release/scimd tenant create bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["bearer_token"])')
export TOKEN SEED_DIR=$WORK
./target/release/scimd serve &
for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:18082/healthz && break; sleep 0.2; done
BASE=http://127.0.0.1:18082/scim/v2/bench
start=$(date +%s)
python3 bench/seed.py "$BASE" "$TOKEN" "$USERS" "$WORK"
echo "seeded $USERS users in $(( $(date +%s) - start )) s" >&2
if [ "$BACKEND" = postgres ]; then psql -q "$BENCH_POSTGRES_URL" -c "ANALYZE scimd_bench.users; ANALYZE scimd_bench.user_values;"; fi
echo "| $BACKEND, $USERS users | req/s | p50 ms | p99 ms | errors |"
echo "|---|---:|---:|---:|---:|"
for s in get_by_id user_name external_id email_value_path last_modified sorted_page; do
  SCENARIO=$s wrk -t1 -c"$CONNS" -d"${SECONDS_PER}s" -s bench/filter.lua "$BASE" | python3 bench/row.py "$s"
done
