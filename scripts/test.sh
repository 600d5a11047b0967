#!/usr/bin/env bash
# Every test tier, from a clean checkout: installs what is missing, builds, starts a throw-away
# PostgreSQL, then runs unit, medium (SQLite and PostgreSQL), integration and browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test

source scripts/lib/postgres.sh
pg_dir=$(mktemp -d /tmp/twarga-pg.XXXXXX)
cleanup() { pg_test_stop "$pg_dir"; rm -rf "$pg_dir"; }
trap cleanup EXIT
pg_port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
pg_test_start "$pg_dir" "$pg_port"
echo "==> PostgreSQL for the medium tests on 127.0.0.1:$pg_port"

# Unit and medium tests live next to the code; integration and browser tests under tests/.
mapfile -t files < <(find apps packages tests -name '*.test.ts' -not -path '*/node_modules/*' | sort)
export CI="${CI:-}"
node --conditions=development --import tsx --test --test-reporter=spec --test-concurrency=2 "${files[@]}"
