#!/usr/bin/env bash
# The outbox and webhook delivery under write load: POST and PATCH /Users without and then with
# a webhook endpoint configured (delivering while the load runs), then the delivery rate while
# the tenant's whole history is replayed, next to an actix-web hello world in the same run; also
# how many of the events the write load made were delivered while it ran.
# Usage: bench/webhooks.sh [BACKEND] [USERS] [SECONDS] [CONNECTIONS]   (sqlite 2000 8 32)
set -euo pipefail
cd "$(dirname "$0")/.."
BACKEND=${1:-sqlite}; USERS=${2:-2000}; SECONDS_PER=${3:-8}; CONNS=${4:-32}
export BENCH_DIR=$PWD/bench
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
cargo build --release --quiet --bin scimd --example hello_world
. bench/lib.sh
start_scimd "$BACKEND" 18080
./target/release/examples/hello_world 127.0.0.1:18081 &
python3 bench/receiver.py 18090 "$WORK/received" &
wait_until_up http://127.0.0.1:18081/
export IDS_FILE=$WORK/ids NAMES_FILE=$WORK/names
python3 bench/seed.py "$BASE" "$TOKEN" "$USERS" "$WORK"
analyze_if_postgres "$BACKEND"

run() { # name url script
  wrk -t2 -c"$CONNS" -d"${SECONDS_PER}s" -s "bench/$3" "$2" | grep '^RESULT' | sed "s/^RESULT/$1/"
}
state() { # prints "delivered latest"
  ./target/release/scimd webhook show "$HOOK" --json |
    python3 -c 'import json,sys; d=json.load(sys.stdin)["deliveries"][0]; print(d["deliveredSeq"], d["latestSeq"])'
}
{
  run hello http://127.0.0.1:18081/ hello.lua
  run post_user "$BASE" post_user.lua
  run patch_user "$BASE" patch_user.lua
  HOOK=$(./target/release/scimd webhook add --tenant bench --url http://127.0.0.1:18090/hook --json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  { state; date +%s.%N; } > "$WORK/load_start"
  run post_user_with_webhook "$BASE" post_user.lua
  run patch_user_with_webhook "$BASE" patch_user.lua
  { state; date +%s.%N; } > "$WORK/load_end"
} > "$WORK/results"
python3 bench/table.py "$WORK/results" "$BACKEND; $USERS users seeded; wrk -t2 -c$CONNS -d${SECONDS_PER}s"
# Delivery while writes run: how far the stream kept up with the events the load made.
python3 - "$WORK/load_start" "$WORK/load_end" <<'PY'
import sys
(d0, l0), t0 = open(sys.argv[1]).read().split("\n")[0].split(), float(open(sys.argv[1]).read().split()[2])
(d1, l1), t1 = open(sys.argv[2]).read().split("\n")[0].split(), float(open(sys.argv[2]).read().split()[2])
made, sent = int(l1) - int(l0), int(d1) - int(d0)
print(f"\nDelivery under the write load: {sent} of the {made} events it made were delivered in its "
      f"{t1 - t0:.1f} s ({sent / (t1 - t0):,.0f} events/s)")
PY

# Delivery rate: the tenant's whole history replayed to the receiver with nothing else running.
read -r _ latest < <(state)
before=$(cat "$WORK/received")
./target/release/scimd webhook replay "$HOOK" --tenant bench --from-seq 1 >/dev/null
t0=$(date +%s.%N)
while :; do read -r d _ < <(state); [ "$d" -ge "$latest" ] && break; sleep 0.1; done
t1=$(date +%s.%N)
sleep 0.5
python3 - "$latest" "$t0" "$t1" "$before" "$WORK/received" <<'PY'
import sys
n, t0, t1, before = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
got = int(open(sys.argv[5]).read()) - before
print(f"\nDelivery: replaying all {n} events of the tenant took {t1 - t0:.2f} s = {n / (t1 - t0):,.0f} events/s "
      f"(the receiver counted about {got}; one endpoint and tenant is one stream, strictly in order)")
PY
