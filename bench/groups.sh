#!/usr/bin/env bash
# Groups at scale: member add/remove latency on groups of 1k, 10k and 100k members, building
# the 100k group by PATCH batches of 1,000, streaming it back (time, peak RSS), and a page of
# 100 groups without members among 1,000 groups.
# Usage: bench/groups.sh [sqlite|postgres] [SECONDS] [CONNECTIONS]   (PostgreSQL: BENCH_POSTGRES_URL)
set -euo pipefail
cd "$(dirname "$0")/.."
BACKEND=${1:-sqlite}; SECONDS_PER=${2:-5}; CONNS=${3:-8}
export BENCH_DIR=$PWD/bench
cargo build --release --quiet --bin scimd
WORK=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
if [ "$BACKEND" = postgres ]; then
  : "${BENCH_POSTGRES_URL:?set BENCH_POSTGRES_URL}"
  psql -q "$BENCH_POSTGRES_URL" -c "DROP SCHEMA IF EXISTS scimd_bench CASCADE; CREATE SCHEMA scimd_bench;" 2>/dev/null
  export SCIMD_DATABASE_URL="${BENCH_POSTGRES_URL}?options=-csearch_path%3Dscimd_bench"
else
  export SCIMD_DATABASE_URL="sqlite://$WORK/bench.db"
fi
export SCIMD_BIND=127.0.0.1:18083 RUST_LOG=warn
TOKEN=$(./target/release/scimd tenant create bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["bearer_token"])')
export TOKEN SEED_DIR=$WORK
./target/release/scimd serve &
PID=$!
for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:18083/healthz && break; sleep 0.2; done
BASE=http://127.0.0.1:18083/scim/v2/bench
python3 bench/seed.py "$BASE" "$TOKEN" 100000 "$WORK"
python3 bench/groups_build.py "$BASE" "$TOKEN" "$WORK" 1000 10000 100000
if [ "$BACKEND" = postgres ]; then psql -q "$BENCH_POSTGRES_URL" -c "ANALYZE scimd_bench.group_members; ANALYZE scimd_bench.groups;"; fi
rss() { awk '/VmHWM/ {print $2 / 1024 " MiB"}' /proc/$PID/status; }
echo "scimd peak RSS after seeding and building: $(rss)" >&2
G100K=$(cat "$WORK/group_100000")
curl -s -o "$WORK/big.json" -w "GET /Groups/{id} of 100k members: %{time_total} s, %{size_download} bytes\n" \
  -H "Authorization: Bearer $TOKEN" "$BASE/Groups/$G100K" >&2
python3 -c "import json,sys; g=json.load(open('$WORK/big.json')); print('members returned:', len(g['members']))" >&2
echo "scimd peak RSS after streaming it: $(rss)" >&2
echo "| $BACKEND | req/s | p50 ms | p99 ms | errors |"
echo "|---|---:|---:|---:|---:|"
for size in 1000 10000 100000; do
  GROUP_FILE="$WORK/group_$size" SIZE=$size wrk -t1 -c"$CONNS" -d"${SECONDS_PER}s" -s bench/group_member.lua "$BASE" \
    | python3 bench/row.py "remove+add one member, $size members"
done
wrk -t1 -c"$CONNS" -d"${SECONDS_PER}s" -s bench/group_page.lua "$BASE" | python3 bench/row.py "GET /Groups?excludedAttributes=members&count=100 (1,003 groups)"
echo "scimd peak RSS at the end: $(rss)" >&2
