# Shared by the bench scripts: a release scimd on a fresh database, with a tenant "bench".

# wait_until_up URL: returns once URL answers 2xx, or after 10 s (the next request then fails).
wait_until_up() {
  for _ in $(seq 50); do curl -sf -o /dev/null "$1" && return; sleep 0.2; done
}

# start_scimd BACKEND PORT sets BASE, TOKEN, PID and WORK (removed on exit). BACKEND is sqlite,
# or postgres with BENCH_POSTGRES_URL naming a database whose schema scimd_bench is reset.
# SCIMD_BIN, when set, is the scimd to run (bench/pgo-build's); else target/release's is built.
start_scimd() {
  local backend=$1 port=$2
  if [ -z "${SCIMD_BIN:-}" ]; then
    cargo build --release --quiet --bin scimd
    SCIMD_BIN=./target/release/scimd
  fi
  WORK=$(mktemp -d)
  trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
  if [ "$backend" = postgres ]; then
    : "${BENCH_POSTGRES_URL:?set BENCH_POSTGRES_URL}"
    psql -q "$BENCH_POSTGRES_URL" -c "DROP SCHEMA IF EXISTS scimd_bench CASCADE; CREATE SCHEMA scimd_bench;" 2>/dev/null
    # A URL with parameters of its own (e.g. `?sslmode=disable`) takes the schema's with `&`.
    local sep='?'
    case $BENCH_POSTGRES_URL in *\?*) sep='&' ;; esac
    export SCIMD_DATABASE_URL="${BENCH_POSTGRES_URL}${sep}options=-csearch_path%3Dscimd_bench"
  else
    export SCIMD_DATABASE_URL="sqlite://$WORK/bench.db"
  fi
  export SCIMD_BIND=127.0.0.1:$port RUST_LOG=warn
  TOKEN=$("$SCIMD_BIN" tenant create bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["bearer_token"])')
  export TOKEN SEED_DIR=$WORK
  "$SCIMD_BIN" serve &
  PID=$!
  wait_until_up "http://127.0.0.1:$port/healthz"
  BASE=http://127.0.0.1:$port/scim/v2/bench
}

# After seeding PostgreSQL: statistics, so plans reflect the data, and a vacuum, so the
# visibility map is set as in a database at rest (index-only scans then skip the heap) and
# autovacuum does not start on the fresh rows in the middle of a measured scenario.
analyze_if_postgres() {
  [ "$1" = postgres ] || return 0
  for t in users user_values groups group_members events tenants; do
    psql -q "$BENCH_POSTGRES_URL" -c "VACUUM ANALYZE scimd_bench.$t"
  done
}

# How scimd reaches PostgreSQL, for the table's title: TLS or not (libpq's default
# `sslmode=prefer` encrypts even on 127.0.0.1 when the server offers it, as Debian's does, and
# that costs a write on a shared machine ~15%: BENCHMARKS.md, twenty-ninth round). psql uses
# the same libpq as scimd, so a connection of its with the same URL is what scimd gets.
postgres_transport() {
  [ "$1" = postgres ] || return 0
  case $(psql -Atq "$BENCH_POSTGRES_URL" -c "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") in
    t) echo ", PostgreSQL over TLS" ;;
    f) echo ", PostgreSQL without TLS" ;;
    *) echo ", PostgreSQL (TLS or not: unknown)" ;;
  esac
}
