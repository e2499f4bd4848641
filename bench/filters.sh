#!/usr/bin/env bash
# Filter latency as the directory grows: seeds USERS users on a fresh database (SQLite, or the
# PostgreSQL URL in BENCH_POSTGRES_URL, whose schema is reset) and runs each filter with wrk.
# Usage: bench/filters.sh USERS [sqlite|postgres] [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${1:-10000}; BACKEND=${2:-sqlite}; SECONDS_PER=${3:-5}; CONNS=${4:-8}
export BENCH_DIR=$PWD/bench
. bench/lib.sh
start_scimd "$BACKEND" 18082
start=$(date +%s)
python3 bench/seed.py "$BASE" "$TOKEN" "$USERS" "$WORK"
echo "seeded $USERS users in $(( $(date +%s) - start )) s" >&2
analyze_if_postgres "$BACKEND"
echo "| $BACKEND, $USERS users | req/s | p50 ms | p99 ms | errors |"
echo "|---|---:|---:|---:|---:|"
for s in get_by_id user_name user_name_prefix external_id email_value_path last_modified sorted_page; do
  SCENARIO=$s wrk -t1 -c"$CONNS" -d"${SECONDS_PER}s" -s bench/filter.lua "$BASE" | python3 bench/row.py "$s"
done
