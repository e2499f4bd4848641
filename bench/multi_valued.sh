#!/usr/bin/env bash
# multi_valued.sh: what filters on a user's groups and sorts by multi-valued attributes cost,
# one request at a time (median of 7, ms), against a running scimd whose tenant was seeded by
# bench/seed.py and bench/groups_build.py (a 10,000-member group and 1,000 groups team-NNNN).
# Prints markdown rows: request | median ms | totalResults.
#
# Usage: bench/multi_valued.sh BASE_URL TOKEN GROUP_ID
#   GROUP_ID is the 10,000-member group's id (groups_build.py writes it to SEED_DIR/group_10000).
set -euo pipefail
[ $# -eq 3 ] || { sed -n '2,8p' "$0" >&2; exit 2; }
B=$1 T=$2 G=$3
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
enc() { python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1]))' "$1"; }
t() {
  local times=""
  for i in 1 2 3 4 5 6 7; do times="$times $(curl -s -o "$OUT" -w '%{time_total}' -H "Authorization: Bearer $T" "$B/$2")"; done
  python3 -c "
import json,statistics,sys
ts=[float(x)*1000 for x in sys.argv[2].split()]; d=json.load(open(sys.argv[3]))
print(f'| {sys.argv[1]} | {statistics.median(ts):.1f} | {d.get(\"totalResults\")} |')" "$1" "$times" "$OUT"
}
t "\`groups.value eq\` the 10,000-member group, first page of 100" "Users?filter=$(enc "groups.value eq \"$G\"")&count=100&attributes=userName"
t "the same, page at 9,901" "Users?filter=$(enc "groups.value eq \"$G\"")&count=100&startIndex=9901&attributes=userName"
t "\`groups.display eq\` a one-member group" "Users?filter=$(enc "groups.display eq \"team-0005\"")&attributes=userName"
t "\`groups[display sw \"team-00\" and type eq \"direct\"]\`" "Users?filter=$(enc "groups[display sw \"team-00\" and type eq \"direct\"]")&attributes=userName"
t "\`groups.type eq \"indirect\"\` (every membership)" "Users?filter=$(enc "groups.type eq \"indirect\"")&attributes=userName&count=10"
t "\`groups pr\` (every membership), 10 users" "Users?filter=$(enc "groups pr")&attributes=userName&count=10"
t "\`sortBy=emails.value\`, first page of 100" "Users?sortBy=emails.value&count=100&attributes=userName"
t "\`sortBy=emails.value\`, page at 19,000" "Users?sortBy=emails.value&count=100&startIndex=19000&attributes=userName"
t "\`sortBy=groups.display\`, first page of 100" "Users?sortBy=groups.display&count=100&attributes=userName"
t "\`sortBy=title\` (an unindexed singular attribute, for scale)" "Users?sortBy=title&count=100&attributes=userName"
t "\`GET /Groups?sortBy=members.value\` (1,001 groups), first 100" "Groups?sortBy=members.value&excludedAttributes=members"
