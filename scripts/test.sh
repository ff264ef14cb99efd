#!/usr/bin/env bash
# The test suite: SQLite always; PostgreSQL too when its server binaries exist (a throwaway cluster
# started here on a Unix socket, removed afterwards). Browser tests run when /usr/bin/chromium exists.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export MAMORU_DATA_DIR="${MAMORU_DATA_DIR:-$PWD/data}"
export MAMORU_DATABASE_URL="sqlite:///$MAMORU_DATA_DIR/test.sqlite3"   # tests use an in-memory database

echo "== pytest on SQLite"
"$BIN/pytest" -q -p no:cacheprovider -n 2 "$@"

pg_bin=""
for d in "$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent)")" /usr/lib/postgresql/*/bin; do
  if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then pg_bin="$d"; fi
done
if [ -z "$pg_bin" ]; then
  echo "== PostgreSQL: SKIPPED (no initdb/pg_ctl found; .ci/run installs them)"
  [ -z "${MAMORU_REQUIRE_ALL:-}" ] || { echo "MAMORU_REQUIRE_ALL: PostgreSQL is required on CI"; exit 1; }
  exit 0
fi

echo "== pytest on PostgreSQL ($("$pg_bin/postgres" --version))"
pgdir="$(mktemp -d /tmp/mamoru-pg.XXXXXX)"
cleanup() { "$pg_bin/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$pgdir"; }
trap cleanup EXIT
run_pg() { if [ "$(id -u)" = 0 ]; then chown -R nobody "$pgdir"; su nobody -s /bin/bash -c "$*"; else bash -c "$*"; fi; }
run_pg "'$pg_bin/initdb' -D '$pgdir/data' -U mamoru --auth=trust -E UTF8 --locale=C >'$pgdir/initdb.log'"
run_pg "'$pg_bin/pg_ctl' -D '$pgdir/data' -l '$pgdir/pg.log' -w -o \"-k $pgdir -c listen_addresses='' -c fsync=off -c full_page_writes=off\" start >/dev/null"
run_pg "'$pg_bin/createdb' -h '$pgdir' -U mamoru mamoru"
export MAMORU_DATABASE_URL="postgres://mamoru@/mamoru?host=$pgdir"
# Browser tests and the pure engines' tests (no database: tests/netcheck) ran in the SQLite pass.
"$BIN/pytest" -q -p no:cacheprovider -n 2 -m "not browser and not engine" "$@"
