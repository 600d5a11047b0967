#!/usr/bin/env bash
# Every test tier, from a clean checkout: installs what is missing, builds, starts a throw-away
# PostgreSQL, then runs unit, medium (SQLite and PostgreSQL), integration and browser tests.
# As root, everything runs inside a network namespace made for this run, with a private libvirtd:
# libvirt's and Vagrant's guest networks live there, and the namespace is deleted afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" != "--inside" ]; then
  bash scripts/setup.sh --test
  if [ "$(id -u)" = 0 ] && command -v virsh >/dev/null && command -v ip >/dev/null; then
    # Its own mount namespace too: a system libvirtd, if one runs, is neither seen nor touched.
    # If the private libvirtd cannot start, the run fails (TWARGA_TEST_LIBVIRT=1 makes the tests
    # fail rather than skip too).
    echo "==> a network namespace with a private libvirtd for the libvirt and Vagrant tests"
    exec bash scripts/lib/run-in-libvirt-netns.sh \
      env TWARGA_TEST_LIBVIRT=1 TWARGA_TEST_VAGRANT=1 bash scripts/test.sh --inside
  fi
  [ -n "${CI:-}" ] && { echo "error: the libvirt and Vagrant tests need root, libvirt and iproute2" >&2; exit 1; }
  echo "==> no private libvirtd (needs root, libvirt and iproute2): libvirt and Vagrant tests will skip"
fi

source scripts/lib/postgres.sh
pg_dir=$(mktemp -d /tmp/twarga-pg.XXXXXX)
cleanup() { pg_test_stop "$pg_dir"; rm -rf "$pg_dir"; }
trap cleanup EXIT
pg_port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
pg_test_start "$pg_dir" "$pg_port"
echo "==> PostgreSQL for the medium tests on 127.0.0.1:$pg_port"

# Unit and medium tests live next to the code; integration and browser tests under tests/.
# The browser tests run last, on their own: next to the VM-heavy tests (QEMU under software
# emulation, Vagrant, libvirt volume uploads) their pages sometimes waited 15-30 s for an answer.
# In path order, as `node --test` (which sorts) always ran them and the measured run times were taken.
mapfile -t files < <(find apps packages tests -name '*.test.ts' -not -path '*/node_modules/*' -not -path 'tests/e2e/*' | LC_ALL=C sort)
mapfile -t browser_files < <(find tests/e2e -name '*.test.ts' | LC_ALL=C sort)
export CI="${CI:-}"
# In the order given, two at a time; a file that hangs fails with its name (scripts/lib/run-tests.mjs).
run_tests() { node --conditions=development --import tsx scripts/lib/run-tests.mjs "$@"; }
status=0
run_tests "${files[@]}" || status=$?
echo "==> browser tests"
run_tests "${browser_files[@]}" || status=$?
exit "$status"
