#!/usr/bin/env bash
# Measures scimd on SQLite with wrk next to an actix-web hello world in the same run.
# Usage: bench/wrk.sh [USERS] [SECONDS] [CONNECTIONS]   (defaults 10000 10 32)
# Needs wrk (Debian package `wrk`) and python3. Prints a markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${1:-10000}; SECONDS_PER=${2:-10}; CONNS=${3:-32}
export BENCH_DIR=$PWD/bench
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
cargo build --release --quiet --bin scimd --example hello_world
WORK=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
export SCIMD_DATABASE_URL="sqlite://$WORK/bench.db" SCIMD_BIND=127.0.0.1:18080 RUST_LOG=warn
TOKEN=$(./target/release/scimd tenant create bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["bearer_token"])')
export TOKEN
./target/release/scimd serve & 
./target/release/examples/hello_world 127.0.0.1:18081 &
for _ in $(seq 50); do curl -sf -o /dev/null http://127.0.0.1:18081/ && curl -s -o /dev/null http://127.0.0.1:18080/healthz && break; sleep 0.2; done
BASE=http://127.0.0.1:18080/scim/v2/bench
export IDS_FILE=$WORK/ids NAMES_FILE=$WORK/names
python3 bench/seed.py "$BASE" "$TOKEN" "$USERS" "$WORK"

run() { # name url script
  wrk -t2 -c"$CONNS" -d"${SECONDS_PER}s" -s "bench/$3" "$2" | grep '^RESULT' | sed "s/^RESULT/$1/"
}
{
  run hello http://127.0.0.1:18081/ hello.lua
  run get_user "$BASE" get_user.lua
  run filter_user_name "$BASE" filter_user_name.lua
  run post_user "$BASE" post_user.lua
} > "$WORK/results"
python3 bench/table.py "$WORK/results" "$USERS users seeded; wrk -t2 -c$CONNS -d${SECONDS_PER}s"
