#!/usr/bin/env bash
# Runs one command inside a fresh network namespace with a private libvirtd (+ virtlogd) and
# libvirt's default NAT network, then stops all of it, also after failures or Ctrl-C.
#   scripts/lib/run-in-libvirt-netns.sh <command> [args…]
# e.g. scripts/lib/run-in-libvirt-netns.sh env TWARGA_TEST_LIBVIRT=1 \
#        node --conditions=development --import tsx --test apps/server/src/compute/libvirt/libvirt-driver.test.ts
# Only one libvirtd can run on the machine: if another one answers, this waits for it to go away
# for up to TWARGA_LIBVIRT_WAIT_S seconds (default 0 = fail at once). Needs root.
#
# Someone else's libvirtd is never touched: virsh reaches whichever libvirtd owns the socket, so
# the command runs, and libvirt_netns_stop (which destroys every domain and the default network
# it can reach) is called, only when the libvirtd that answers runs inside our namespace.
set -uo pipefail
[ $# -ge 1 ] || { echo "usage: $0 <command> [args…]" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=libvirt-netns.sh
source "$here/libvirt-netns.sh"

answers() { virsh -q -c qemu:///system version >/dev/null 2>&1; }

wait_s=${TWARGA_LIBVIRT_WAIT_S:-0}
for _ in $(seq 1 "$wait_s"); do
  answers || break
  sleep 1
done

ns="twarga-lv-$$-$RANDOM"

# True when the libvirtd owning the system socket (its pidfile) is a process of our namespace.
ours() {
  local pid
  pid=$(cat /run/libvirtd.pid 2>/dev/null) || return 1
  [ -n "$pid" ] && ip netns pids "$ns" 2>/dev/null | grep -qx "$pid"
}

cleanup() {
  ip netns list | grep -qw "$ns" || return 0
  if ours; then
    libvirt_netns_stop "$ns"
    return
  fi
  # Another libvirtd answers: end only the processes of our namespace (by PID), then delete it.
  local pid
  for pid in $(ip netns pids "$ns"); do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do [ -z "$(ip netns pids "$ns")" ] && break; sleep 0.1; done
  for pid in $(ip netns pids "$ns"); do kill -9 "$pid" 2>/dev/null || true; done
  ip netns del "$ns"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if answers; then
  echo "$0: another libvirtd is running on this machine; try again later (or set TWARGA_LIBVIRT_WAIT_S)" >&2
  exit 75
fi
start_rc=0
libvirt_netns_start "$ns" || start_rc=$?
if ! ours; then
  echo "$0: the libvirtd that answers is not ours (another one started at the same time); not running" >&2
  exit 75
fi
[ "$start_rc" -eq 0 ] || exit 1
ip netns exec "$ns" "$@"
exit $?
