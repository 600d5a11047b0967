# A private libvirtd for the libvirt and Vagrant tests, inside a network namespace the tests
# create and delete themselves (the network rule: libvirt's NAT bridge and everything that talks
# to it live in that namespace, never on the host's networks).
# Source this file, then, INSIDE A PRIVATE MOUNT NAMESPACE (unshare --mount):
#   libvirt_private_state <dir>; libvirt_netns_start <name>; ip netns exec <name> …; libvirt_netns_stop <name>
# scripts/lib/run-in-libvirt-netns.sh does all of that around one command.
# Needs root, iproute2, util-linux (unshare), libvirt-daemon-system, dnsmasq-base and iptables
# (scripts/setup.sh --test).

# Where our libvirtd and virtlogd write their pidfiles (the defaults, /run/libvirtd.pid and
# /run/virtlogd.pid, are outside the private directories and would clash with a system daemon).
LIBVIRT_PRIVATE_PIDFILE=/run/libvirt/twarga-libvirtd.pid
LIBVIRT_PRIVATE_LOGD_PIDFILE=/run/libvirt/twarga-virtlogd.pid

# Gives this mount namespace its own libvirt state, so a libvirtd started here is independent of
# one the system runs (its sockets, domains, pools, networks, leases and logs stay invisible to
# us and ours to it): /run/libvirt is a fresh tmpfs; /var/lib/libvirt, /var/log/libvirt,
# /var/cache/libvirt and /etc/libvirt are bind mounts of directories under <dir>.
# /etc/libvirt is a COPY of the system's configuration without its domains, pools, autostart
# links, hooks and secrets: our libvirtd must never start, or (at cleanup) undefine, the
# system's machines, nor run its hooks.
libvirt_private_state() {
  local dir=$1 src
  if [ "$(readlink /proc/self/ns/mnt)" = "$(readlink /proc/1/ns/mnt)" ]; then
    echo "libvirt_private_state: not in a private mount namespace (run under unshare --mount)" >&2
    return 1
  fi
  mkdir -p /run/libvirt && mount -t tmpfs -o mode=0755 twarga-libvirt-run /run/libvirt || return 1
  # `ip netns add` names namespaces under /run/netns: ours stay in this mount namespace too
  # (nothing is left on the host's /run/netns, even after a crash).
  mkdir -p /run/netns && mount -t tmpfs -o mode=0755 twarga-netns /run/netns || return 1
  # Same tree of directories (owners and modes: libvirt-qemu owns some), none of the files.
  for src in /var/lib/libvirt /var/log/libvirt; do
    mkdir -p "$src" "$dir$src"
    (cd "$src" && find . -xdev -maxdepth 2 -type d -print0) | while IFS= read -r -d '' d; do
      mkdir -p "$dir$src/$d"
      chown --reference="$src/$d" "$dir$src/$d"
      chmod --reference="$src/$d" "$dir$src/$d"
    done
  done
  # QEMU's capability cache is worth keeping: without it the first define probes QEMU again.
  mkdir -p /var/cache/libvirt "$dir/var/cache"
  cp -a /var/cache/libvirt "$dir/var/cache/"
  mkdir -p "$dir/etc"
  cp -a /etc/libvirt "$dir/etc/"
  local etc="$dir/etc/libvirt"
  rm -rf "$etc/storage" "$etc/secrets" "$etc/qemu/autostart" "$etc/qemu/networks/autostart" "$etc/qemu/checkpoint" "$etc/qemu/snapshot"
  find "$etc/hooks" -mindepth 1 -delete 2>/dev/null || true
  find "$etc/qemu" -maxdepth 1 -name '*.xml' -delete
  find "$etc/qemu/networks" -maxdepth 1 -name '*.xml' ! -name default.xml -delete 2>/dev/null || true
  for src in /var/lib/libvirt /var/log/libvirt /var/cache/libvirt /etc/libvirt; do
    mount --bind "$dir$src" "$src" || return 1
  done
}

libvirt_netns_start() {
  local ns=$1
  if virsh -q -c qemu:///system version >/dev/null 2>&1; then
    echo "libvirt_netns_start: a libvirtd already answers in this mount namespace; not starting a second one" >&2
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
  ip netns exec "$ns" virtlogd -d -p "$LIBVIRT_PRIVATE_LOGD_PIDFILE"
  # Also over TCP, without auth, on the namespace's own loopback (nothing outside it can reach
  # that): the tests add it as a remote host, qemu+tcp://127.0.0.1/system, the way a
  # qemu+ssh:// host is reached (no shared files, no local PTY).
  local conf="/run/libvirt/twarga-libvirtd-$ns.conf"
  printf '%s\n' 'listen_tls = 0' 'listen_tcp = 1' 'listen_addr = "127.0.0.1"' 'auth_tcp = "none"' >"$conf"
  ip netns exec "$ns" libvirtd -d --listen -f "$conf" -p "$LIBVIRT_PRIVATE_PIDFILE"
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
  local ns=$1 pid net
  ip netns list | grep -qw "$ns" || return 0
  # Domains and networks first, so libvirt stops its QEMUs and dnsmasq itself.
  for dom in $(virsh -q -c qemu:///system list --all --name 2>/dev/null); do
    virsh -q -c qemu:///system destroy "$dom" >/dev/null 2>&1 || true
    virsh -q -c qemu:///system undefine "$dom" --nvram >/dev/null 2>&1 || virsh -q -c qemu:///system undefine "$dom" >/dev/null 2>&1 || true
  done
  for net in $(virsh -q -c qemu:///system net-list --name 2>/dev/null); do
    virsh -q -c qemu:///system net-destroy "$net" >/dev/null 2>&1 || true
  done
  # Then every process still in the namespace (libvirtd, virtlogd, strays), by PID.
  for pid in $(ip netns pids "$ns"); do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do [ -z "$(ip netns pids "$ns")" ] && break; sleep 0.1; done
  for pid in $(ip netns pids "$ns"); do kill -9 "$pid" 2>/dev/null || true; done
  ip netns del "$ns"
}
