#!/usr/bin/env bash
# requests_at_scale.sh [sqlite|postgres]: 100,000 users and two groups of about 100,000
# members, then single requests timed with curl (those of the forty-seventh round): removes at
# `members[filter]` that match nothing (median of 5), `meta.version` and `meta.location`
# filters and sorts over every user, the Base URL root's GET (filtered, and sorted across both
# types: the forty-eighth round's), a projection that leaves a member
# nothing, groups found by a member's id and by members' displays (the forty-ninth round's),
# and each group emptied once, one by `remove members`, the other by
# `members[type eq "User"]`. Prints a markdown table.
# PostgreSQL: BENCH_POSTGRES_URL, as for scimd-bench.
set -euo pipefail
cd "$(dirname "$0")/.."
BACKEND=${1:-sqlite}
source bench/lib.sh
start_scimd "$BACKEND" 18479
python3 bench/seed.py "$BASE" "$TOKEN" 100000 "$SEED_DIR" >/dev/null
python3 bench/groups_build.py "$BASE" "$TOKEN" "$SEED_DIR" 100000 99999 >"$SEED_DIR/build.out" 2>&1
analyze_if_postgres "$BACKEND"
G=$(cat "$SEED_DIR/group_100000") G2=$(cat "$SEED_DIR/group_99999")
enc() { python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1]))' "$1"; }
median_ms() { python3 -c 'import statistics,sys;print(f"{statistics.median(float(x)*1000 for x in sys.argv[1:]):.1f}")' "$@"; }
# time LABEL TIMES METHOD PATH [BODY]: the median of TIMES requests.
time_it() {
  local label=$1 n=$2 method=$3 path=$4 body=${5:-} times=()
  for _ in $(seq "$n"); do
    times+=("$(curl -s -o "$SEED_DIR/out" -w '%{time_total}' -X "$method" -H "Authorization: Bearer $TOKEN" \
      -H 'Content-Type: application/scim+json' ${body:+-d "$body"} "$BASE$path")")
  done
  echo "| $label | $(median_ms "${times[@]}") | $(head -c 60 "$SEED_DIR/out" | tr '\n' ' ') |"
}
remove() { echo "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":[{\"op\":\"remove\",\"path\":\"$1\"}]}"; }
name=$(python3 -c 'import sys,urllib.parse;print(urllib.parse.unquote(sys.argv[1]))' "$(head -1 "$SEED_DIR/names")")
echo "requests_at_scale.sh $BACKEND, $(date -u +%F), 100,000 users, groups of 100,000 and 99,999"
echo
echo "| request | ms | answer starts |"
echo "|---|---:|---|"
time_it 'remove `members[type eq "Group"]`, no match (median of 5)' 5 PATCH "/Groups/$G" "$(remove 'members[type eq \"Group\"]')"
time_it 'remove `members[value sw "zz"]`, no match (median of 5)' 5 PATCH "/Groups/$G" "$(remove 'members[value sw \"zz\"]')"
time_it '`meta.version eq "W/\"2\""` over every user (median of 5)' 5 GET "/Users?filter=$(enc 'meta.version eq "W/\"2\""')&attributes=userName"
time_it '`sortBy=meta.version`, first 100 (median of 5)' 5 GET "/Users?sortBy=meta.version&count=100&attributes=userName"
uid=$(head -1 "$SEED_DIR/ids")
time_it '`meta.location eq` a user'"'"'s URL (median of 5)' 5 GET "/Users?filter=$(enc "meta.location eq \"$BASE/Users/$uid\"")&attributes=userName"
time_it '`meta.location co "/Users/0"` over every user (median of 5)' 5 GET "/Users?filter=$(enc 'meta.location co "/Users/0"')&attributes=userName&count=10"
time_it '`sortBy=title`, first 100, for scale (median of 5)' 5 GET "/Users?sortBy=title&count=100&attributes=userName"
time_it '`GET /?filter=userName eq …` at the root (median of 5)' 5 GET "/?filter=$(enc "userName eq \"$name\"")&attributes=userName"
time_it '`GET /?sortBy=displayName`, first 100 across both types (median of 5)' 5 GET "/?sortBy=displayName&count=100&attributes=displayName"
time_it '`GET /?sortBy=userName`, 100 from 50,000 (median of 5)' 5 GET "/?sortBy=userName&startIndex=50000&count=100&attributes=userName"
time_it '`GET /Users?sortBy=userName`, 100 from 50,000, for scale (median of 5)' 5 GET "/Users?sortBy=userName&startIndex=50000&count=100&attributes=userName"
time_it '`GET /?sortBy=meta.created&sortOrder=descending`, first 100 (median of 5)' 5 GET "/?sortBy=meta.created&sortOrder=descending&count=100&attributes=displayName"
time_it '`attributes=members.display`, no member has one (median of 5)' 5 GET "/Groups/$G?attributes=members.display"
time_it '`id eq` a group `and members.value eq` a member, as Entra checks one (median of 5)' 5 GET "/Groups?filter=$(enc "id eq \"$G\" and members.value eq \"$uid\"")&excludedAttributes=members"
time_it '`members.value eq` a member, over every group (median of 5)' 5 GET "/Groups?filter=$(enc "members.value eq \"$uid\"")&excludedAttributes=members"
time_it '`members.display eq`, over every membership (median of 5)' 5 GET "/Groups?filter=$(enc 'members.display eq "ann"')&excludedAttributes=members"
time_it 'remove `members`: all 99,999 (once)' 1 PATCH "/Groups/$G2" "$(remove members)"
time_it 'remove `members[type eq "User"]`: all 100,000 (once)' 1 PATCH "/Groups/$G" "$(remove 'members[type eq \"User\"]')"
for g in "$G" "$G2"; do
  left=$(curl -s -H "Authorization: Bearer $TOKEN" "$BASE/Groups/$g?attributes=members" | python3 -c 'import json,sys;print(len(json.load(sys.stdin).get("members",[])))')
  [ "$left" = 0 ] || { echo "group $g still has $left members" >&2; exit 1; }
done
