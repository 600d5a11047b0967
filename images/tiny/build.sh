#!/usr/bin/env bash
# Builds Twarga Cloud's built-in "tiny" Linux image from Debian packages:
#   <out>/vmlinuz      Debian's kernel (linux-image-<version>-amd64)
#   <out>/initrd.img   busybox-static + dropbear + e2fsprogs + qemu-guest-agent (Debian's qemu-ga)
#                      + virtio/ext4/isofs (+ vmgenid when not built in) modules + our init
#   <out>/SHA256SUMS   checksums of both, and <out>/build.json (kernel version, inputs hash)
# The image boots in RAM, reads its hostname and root's SSH keys from a NoCloud seed (label
# cidata), gets an address by DHCP, runs sshd (dropbear) and a root shell on ttyS0, powers off
# on ACPI, and keeps /data on the VM's disk (ext4 with a journal, formatted on first boot and
# checked with e2fsck before every mount, so an unclean power-off cannot leave it unmountable;
# grown to the disk's size on boot). All of its identity (seed, /data, host keys, machine-id,
# user-data) comes from /sbin/twarga-identity, run by rcS on a cold boot, or by the host through
# the guest agent after restoring a warm state (kernel cmdline twarga.warm=1): see that script.
# Usage: images/tiny/build.sh <out-dir>      (skips the build when <out-dir> is up to date)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh <out-dir>}
mkdir -p "$out"

for tool in apt-get apt-cache dpkg depmod modprobe cpio gzip busybox dropbear dropbearkey mke2fs e2fsck tune2fs resize2fs; do
  command -v "$tool" >/dev/null || { echo "build.sh: $tool is missing (apt-get install busybox-static dropbear-bin cpio kmod e2fsprogs)" >&2; exit 1; }
done

# The kernel package that linux-image-amd64 points at (never a glob: one glob pulled 30 kernels).
find_kernel() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}'; }
kpkg=$(find_kernel)
if [ -z "$kpkg" ]; then
  # Package lists not fetched yet on this machine.
  sudo=(); [ "$(id -u)" = 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq && kpkg=$(find_kernel)
fi
[ -n "$kpkg" ] || { echo "build.sh: cannot resolve linux-image-amd64 (run apt-get update)" >&2; exit 1; }
kver=${kpkg#linux-image-}
# Debian's qemu-guest-agent (qemu-ga), the guest side of the hypervisor's guest-agent channel.
qga_ver=$(apt-cache policy qemu-guest-agent 2>/dev/null | awk '/Candidate:/{print $2; exit}')
[ -n "$qga_ver" ] && [ "$qga_ver" != "(none)" ] || { echo "build.sh: cannot resolve qemu-guest-agent (run apt-get update)" >&2; exit 1; }

inputs=$( (echo "$kpkg"; echo "qemu-guest-agent $qga_ver"; busybox | head -1; dropbear -V 2>&1 | head -1; e2fsck -V 2>&1 | head -1; cat "$0"; find "$here/rootfs" -type f | sort | xargs cat) | sha256sum | cut -c1-16)
if [ -f "$out/build.json" ] && grep -q "\"inputs\": \"$inputs\"" "$out/build.json" && (cd "$out" && sha256sum -c --quiet SHA256SUMS); then
  echo "tiny image up to date in $out"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "==> tiny image: kernel $kver"
(cd "$work" && apt-get download -q "$kpkg" >/dev/null 2>&1) || { echo "build.sh: apt-get download $kpkg failed" >&2; exit 1; }
dpkg -x "$work"/"$kpkg"_*.deb "$work/k"
(cd "$work" && apt-get download -q "qemu-guest-agent=$qga_ver" >/dev/null 2>&1) || { echo "build.sh: apt-get download qemu-guest-agent failed" >&2; exit 1; }
dpkg -x "$work"/qemu-guest-agent_*.deb "$work/qga"
depmod -b "$work/k" "$kver"

root="$work/root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,root,data,mnt/seed,var/log,var/run,lib/modules,lib64,usr/share/udhcpc}
cp -a "$here/rootfs/." "$root/"
chmod 755 "$root/init" "$root/sbin/twarga-identity" "$root/etc/init.d/"* "$root/usr/share/udhcpc/default.script" "$root/etc/acpi/PWRF/00000080"
cp /bin/busybox "$root/bin/busybox"
ln -s busybox "$root/bin/sh"

# dropbear, e2fsprogs (busybox only makes ext2 and has no fsck) and the shared libraries they
# need, found with ldd. e2fsprogs go to /sbin, where busybox --install then leaves them be.
mapfile -t e2fs < <(command -v mke2fs e2fsck tune2fs resize2fs)
cp /usr/sbin/dropbear "$root/usr/sbin/"
cp /usr/bin/dropbearkey "$root/usr/bin/"
cp "${e2fs[@]}" "$root/sbin/"
cp /etc/mke2fs.conf "$root/etc/"
# qemu-ga from the package; its libraries (glib, libudev, liburing, libnuma) come from this machine.
cp "$work/qga/usr/sbin/qemu-ga" "$root/usr/sbin/"
if ldd "$root/usr/sbin/qemu-ga" | grep -q 'not found'; then
  echo "build.sh: qemu-ga needs libraries this machine lacks (apt-get install qemu-guest-agent's dependencies):" >&2
  ldd "$root/usr/sbin/qemu-ga" | grep 'not found' >&2; exit 1
fi
for lib in $(ldd /usr/sbin/dropbear /usr/bin/dropbearkey "${e2fs[@]}" "$root/usr/sbin/qemu-ga" | awk '/=>/{print $3} /ld-linux/{print $1}' | sort -u); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done

# Kernel modules in dependency order (modprobe computes it from the package's modules.dep).
# virtio_console carries the guest agent's channel, virtio_balloon the guest's memory statistics.
# vmgenid makes the kernel reseed its RNG when a saved VM state is restored (QEMU's vmgenid device
# changes its id): Debian's 6.1 kernel has it built in (modprobe then prints "builtin", no insmod
# line), another kernel may ship it as a module, which then goes in with the rest.
modules=(virtio_pci virtio_blk virtio_net virtio_rng virtio_console virtio_balloon ext4 isofs button evdev vmgenid)
: >"$root/etc/modules.order"
for m in "${modules[@]}"; do
  modprobe -d "$work/k" -S "$kver" --show-depends "$m" | awk '$1=="insmod"{print $2}'
done | awk '!seen[$0]++' | while read -r ko; do
  rel=${ko#"$work/k/lib/modules/$kver/"}
  mkdir -p "$root/lib/modules/$(dirname "$rel")"
  cp "$ko" "$root/lib/modules/$rel"
  echo "$rel" >>"$root/etc/modules.order"
done

(cd "$root" && find . -print0 | sort -z | cpio --null -o -H newc --quiet | gzip -9) >"$work/initrd.img"
cp "$work/k/boot/vmlinuz-$kver" "$work/vmlinuz"
(cd "$work" && sha256sum vmlinuz initrd.img >SHA256SUMS)
# Swap in by rename within <out>: QEMU processes running now keep the files they opened, and a VM
# starting now reads either the old pair or the new one, never a half-written file.
for f in vmlinuz initrd.img SHA256SUMS; do cp "$work/$f" "$out/.$f.new"; done
for f in vmlinuz initrd.img SHA256SUMS; do mv -f "$out/.$f.new" "$out/$f"; done
printf '{ "kernel": "%s", "inputs": "%s", "built_at": "%s" }\n' "$kver" "$inputs" "$(date -u +%FT%TZ)" >"$out/build.json"
echo "==> tiny image ready in $out ($(du -sh "$out" | cut -f1))"
