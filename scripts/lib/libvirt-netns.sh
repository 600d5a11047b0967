# A private libvirtd for the libvirt and Vagrant tests, inside a network namespace the tests
# create and delete themselves (the network rule: libvirt's NAT bridge and everything that talks
# to it live in that namespace, never on the host's networks).
# Source this file, then: libvirt_netns_start <name>; ip netns exec <name> …; libvirt_netns_stop <name>
# Needs root, iproute2, libvirt-daemon-system, dnsmasq-base and iptables (scripts/setup.sh --test).

libvirt_netns_start() {
  local ns=$1
  if virsh -q -c qemu:///system version >/dev/null 2>&1; then
    echo "libvirt_netns_start: a libvirtd is already running on this machine; not starting a second one" >&2
    return 1
  fi
  # Debian's udev rule makes /dev/kvm root:kvm 0660. Where it is root-only (some containers),
  # libvirt discards its QEMU capability cache after every probe and each `virsh define` takes
  # a minute or more; give it the usual group access (guests still use software emulation).
  if [ -c /dev/kvm ] && [ "$(stat -c %a /dev/kvm)" = 600 ] && getent group kvm >/dev/null; then
    chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
  fi
  ip netns add "$ns"
  ip netns exec "$ns" ip link set lo up
  ip netns exec "$ns" virtlogd -d
  # Also over TCP, without auth, on the namespace's own loopback (nothing outside it can reach
  # that): the tests add it as a remote host, qemu+tcp://127.0.0.1/system, the way a
  # qemu+ssh:// host is reached (no shared files, no local PTY).
  local conf="/run/twarga-libvirtd-$ns.conf"
  printf '%s\n' 'listen_tls = 0' 'listen_tcp = 1' 'listen_addr = "127.0.0.1"' 'auth_tcp = "none"' >"$conf"
  ip netns exec "$ns" libvirtd -d --listen -f "$conf"
  local i
  for i in $(seq 1 100); do
    virsh -q -c qemu:///system version >/dev/null 2>&1 && break
    sleep 0.1
  done
  virsh -q -c qemu:///system version >/dev/null || { echo "libvirtd did not answer" >&2; return 1; }
  # The default NAT network (192.168.122.0/24) exists only inside the namespace.
  virsh -q -c qemu:///system net-start default >/dev/null 2>&1 || virsh -q -c qemu:///system net-info default | grep -q 'Active: *yes'
}

libvirt_netns_stop() {
  local ns=$1 pid
  ip netns list | grep -qw "$ns" || return 0
  # Domains and networks first, so libvirt stops its QEMUs and dnsmasq itself.
  for dom in $(virsh -q -c qemu:///system list --all --name 2>/dev/null); do
    virsh -q -c qemu:///system destroy "$dom" >/dev/null 2>&1 || true
    virsh -q -c qemu:///system undefine "$dom" --nvram >/dev/null 2>&1 || virsh -q -c qemu:///system undefine "$dom" >/dev/null 2>&1 || true
  done
  virsh -q -c qemu:///system net-destroy default >/dev/null 2>&1 || true
  # Then every process still in the namespace (libvirtd, virtlogd, strays), by PID.
  for pid in $(ip netns pids "$ns"); do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do [ -z "$(ip netns pids "$ns")" ] && break; sleep 0.1; done
  for pid in $(ip netns pids "$ns"); do kill -9 "$pid" 2>/dev/null || true; done
  ip netns del "$ns"
  rm -f "/run/twarga-libvirtd-$ns.conf"
}
