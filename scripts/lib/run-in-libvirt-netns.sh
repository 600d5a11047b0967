#!/usr/bin/env bash
# Runs one command inside a fresh network namespace with a private libvirtd (+ virtlogd) and
# libvirt's default NAT network, then stops all of it, also after failures or Ctrl-C.
#   scripts/lib/run-in-libvirt-netns.sh <command> [args…]
# e.g. scripts/lib/run-in-libvirt-netns.sh env TWARGA_TEST_LIBVIRT=1 \
#        node --conditions=development --import tsx --test apps/server/src/compute/libvirt/libvirt-driver.test.ts
# Needs root.
#
# Independent of any other libvirtd on the machine (a system one, or another run of this
# script): the whole run happens in a private mount namespace whose libvirt state (/run/libvirt,
# /var/lib/libvirt, /var/log/libvirt, /var/cache/libvirt, and a copy of /etc/libvirt without the
# system's machines) is its own, under a temporary directory removed afterwards. virsh inside
# reaches only our libvirtd, and our cleanup (which destroys every domain it can reach) only ours.
# When the private libvirtd cannot be started, this exits non-zero with the reason.
set -uo pipefail
[ $# -ge 1 ] || { echo "usage: $0 <command> [args…]" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ "${TWARGA_LIBVIRT_MNTNS:-}" != "$$" ]; then
  [ "$(id -u)" = 0 ] || { echo "$0: needs root (a private libvirtd in its own mount and network namespace)" >&2; exit 1; }
  command -v unshare >/dev/null || { echo "$0: unshare (util-linux) is missing" >&2; exit 1; }
  # exec keeps our PID, which marks the re-run as the one inside the mount namespace.
  TWARGA_LIBVIRT_MNTNS=$$ exec unshare --mount --propagation private bash "$0" "$@"
fi
unset TWARGA_LIBVIRT_MNTNS

# shellcheck source=libvirt-netns.sh
source "$here/libvirt-netns.sh"

ns="twarga-lv-$$-$RANDOM"
state=$(mktemp -d /var/tmp/twarga-libvirt.XXXXXX) || exit 1

cleanup() {
  libvirt_netns_stop "$ns"
  # Our mounts go away with this mount namespace; the directories behind them go now ($state
  # holds only our copies: the bind mounts point from it onto the system paths, never back).
  umount /var/lib/libvirt /var/log/libvirt /var/cache/libvirt /etc/libvirt 2>/dev/null
  rm -rf --one-file-system "$state"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

libvirt_private_state "$state" || { echo "$0: could not give libvirt private state directories" >&2; exit 1; }
libvirt_netns_start "$ns" || { echo "$0: the private libvirtd did not start (see above)" >&2; exit 1; }
ip netns exec "$ns" "$@"
exit $?
