#!/usr/bin/env bash
# What authentication costs: GET /Users/{id} with a bearer token and with HTTP Basic (both
# cached after the first verification), beside a hello world in the same run, and the latency
# of a credential's first (uncached, argon2-verified) request against its second.
# Usage: bench/auth.sh [USERS] [SECONDS] [CONNECTIONS]   (defaults 10000 10 32)
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${1:-10000}; SECONDS_PER=${2:-10}; CONNS=${3:-32}
export BENCH_DIR=$PWD/bench
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
. bench/lib.sh
cargo build --release --quiet --example hello_world
start_scimd sqlite 18080
./target/release/examples/hello_world 127.0.0.1:18081 &
wait_until_up http://127.0.0.1:18081/
export IDS_FILE=$WORK/ids NAMES_FILE=$WORK/names
python3 bench/seed.py "$BASE" "$TOKEN" "$USERS" "$WORK"
ID=$(head -1 "$IDS_FILE")

issue() { # kind → the Authorization header value of a fresh credential
  ./target/release/scimd credential issue bench --kind "$1" --json | python3 -c '
import base64, json, sys
c = json.load(sys.stdin)
pair = (c.get("username", "") + ":" + c.get("password", "")).encode()
print("Bearer " + c["token"] if "token" in c else "Basic " + base64.b64encode(pair).decode())'
}

echo "| credential | first request ms (argon2 verify) | second request ms (cached) |"
echo "|---|---:|---:|"
for kind in bearer basic; do
  firsts=(); seconds=()
  for _ in 1 2 3 4 5; do
    auth=$(issue "$kind")
    firsts+=("$(curl -s -o /dev/null -w '%{time_total}' -H "Authorization: $auth" "$BASE/Users/$ID")")
    seconds+=("$(curl -s -o /dev/null -w '%{time_total}' -H "Authorization: $auth" "$BASE/Users/$ID")")
  done
  python3 - "$kind" "${firsts[*]}" "${seconds[*]}" <<'PY'
import statistics, sys
f = [float(x) * 1000 for x in sys.argv[2].split()]
s = [float(x) * 1000 for x in sys.argv[3].split()]
print(f"| {sys.argv[1]} | {statistics.median(f):.1f} (median of {len(f)}) | {statistics.median(s):.1f} |")
PY
done
echo

BASIC_AUTH=$(issue basic)
run() { # name url script [auth]
  AUTH=${4:-} wrk -t2 -c"$CONNS" -d"${SECONDS_PER}s" -s "bench/$3" "$2" | grep '^RESULT' | sed "s/^RESULT/$1/"
}
{
  run hello http://127.0.0.1:18081/ hello.lua
  run get_user_bearer "$BASE" get_user.lua "Bearer $TOKEN"
  run get_user_basic "$BASE" get_user.lua "$BASIC_AUTH"
} > "$WORK/results"
python3 bench/table.py "$WORK/results" "$USERS users seeded; wrk -t2 -c$CONNS -d${SECONDS_PER}s"
