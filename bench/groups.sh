#!/usr/bin/env bash
# Groups at scale: member add/remove latency on groups of 1k, 10k and 100k members, building
# the 100k group by PATCH batches of 1,000, streaming it back (time, peak RSS), and a page of
# 100 groups without members and with them among 1,000 groups.
# Usage: bench/groups.sh [sqlite|postgres] [SECONDS] [CONNECTIONS]   (PostgreSQL: BENCH_POSTGRES_URL)
set -euo pipefail
cd "$(dirname "$0")/.."
BACKEND=${1:-sqlite}; SECONDS_PER=${2:-5}; CONNS=${3:-8}
export BENCH_DIR=$PWD/bench
. bench/lib.sh
start_scimd "$BACKEND" 18083
python3 bench/seed.py "$BASE" "$TOKEN" 100000 "$WORK"
python3 bench/groups_build.py "$BASE" "$TOKEN" "$WORK" 1000 10000 100000
analyze_if_postgres "$BACKEND"
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
wrk -t1 -c"$CONNS" -d"${SECONDS_PER}s" -s bench/group_import.lua "$BASE" | python3 bench/row.py "GET /Groups?startIndex=K&count=100 with members (1,003 groups)"
echo "scimd peak RSS at the end: $(rss)" >&2
