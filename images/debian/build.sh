#!/usr/bin/env bash
# Builds Twarga Cloud's Debian 12 (bookworm) cloud image from Debian's packages, like Debian's own
# genericcloud image: systemd, cloud-init (NoCloud), openssh-server, qemu-guest-agent, rsyslog,
# sudo and linux-image-cloud-amd64, DHCP networking configured by cloud-init, the default user
# `debian`, a getty on ttyS0, and a root filesystem that grows to the VM's disk on first boot.
#   <cache>/debian-12/disk.qcow2    MBR disk: partition 1 is the ext4 root (label cloudimg-rootfs),
#                                   GRUB (i386-pc) sits in the gap before it; virtual size 2 GiB
#   <cache>/debian-12/vmlinuz       the kernel and initrd, for direct kernel boot
#   <cache>/debian-12/initrd.img
#   <cache>/debian-12/SHA512SUMS    checksums of the three, and build.json (inputs hash, kernel, cmdline)
# No loop device and no mount: mmdebstrap fills a directory, `mkfs.ext4 -d` writes it straight into
# the partition's offset of a disk file, and GRUB's boot sector and core image are written with dd.
#
# Usage: images/debian/build.sh [--check] [<cache-root>]
#   <cache-root>  default $TWARGA_IMAGE_CACHE, else /var/cache/twarga/images when writable, else
#                 ${XDG_CACHE_HOME:-~/.cache}/twarga/images
#   --check       exit 0 when the image is built for the current inputs and its checksums hold, else 1
# Builds only when missing or out of date (inputs: this script, rootfs/, the packages' versions).
# While building, stdout carries `PROGRESS <0-100> <phase>` lines (the server shows them).
# Concurrent runs wait for each other (flock) and the later one finds the image up to date.
set -euo pipefail
# The image holds no secret, and servers running as other users read it (the server's own umask is 077).
umask 022
here=$(cd "$(dirname "$0")" && pwd)
check=false
[ "${1:-}" = "--check" ] && { check=true; shift; }

default_cache() {
  if [ -n "${TWARGA_IMAGE_CACHE:-}" ]; then echo "$TWARGA_IMAGE_CACHE"; return; fi
  if mkdir -p /var/cache/twarga/images 2>/dev/null && [ -w /var/cache/twarga/images ]; then echo /var/cache/twarga/images; return; fi
  echo "${XDG_CACHE_HOME:-$HOME/.cache}/twarga/images"
}
cache=${1:-$(default_cache)}
out="$cache/debian-12"
progress() { echo "PROGRESS $1 $2"; }
die() { echo "build.sh: $*" >&2; exit 1; }

packages=(systemd-sysv udev dbus openssh-server cloud-init cloud-guest-utils qemu-guest-agent rsyslog sudo
  linux-image-cloud-amd64 grub-pc-bin ifupdown isc-dhcp-client netbase iproute2 iputils-ping procps
  less nano ca-certificates e2fsprogs)
size_gb=2
cmdline='root=LABEL=cloudimg-rootfs ro console=tty0 console=ttyS0,115200'

# The inputs: this script, the files it copies into the image and every named package's version.
versions() { apt-cache policy "${packages[@]}" 2>/dev/null | awk '/^[^ ]/{p=$1} /Candidate:/{print p, $2}'; }
if ! versions | grep -q '^linux-image-cloud-amd64: [0-9]'; then
  $check && exit 1
  sudo=(); [ "$(id -u)" = 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
fi
inputs=$( (versions; cat "$0"; cd "$here/rootfs" && find . -type f | sort | while read -r f; do echo "$f"; cat "$f"; done) | sha256sum | cut -c1-16)

up_to_date() {
  [ -f "$out/build.json" ] && grep -q "\"inputs\": \"$inputs\"" "$out/build.json" && (cd "$out" && sha512sum -c --quiet SHA512SUMS >/dev/null 2>&1)
}
if $check; then up_to_date; exit; fi

if [ "$(id -u)" != 0 ]; then
  # A server running as its own user cannot build; it can wait for a root build in progress
  # (scripts/setup.sh, deploy/twarga-image-build.service) and then use its result.
  up_to_date && { progress 100 "up to date"; exit 0; }
  if [ -r "$cache/debian-12.lock" ] && exec 9<"$cache/debian-12.lock" && ! flock -n 9; then
    progress 1 "waiting for the build running as root"
    flock 9
    up_to_date && { progress 100 "built"; exit 0; }
  fi
  die "building the Debian image needs root (mmdebstrap and a chroot): run 'sudo bash $0 $cache'"
fi
for tool in mmdebstrap mkfs.ext4 sfdisk qemu-img sha512sum flock chroot; do
  command -v "$tool" >/dev/null || die "$tool is missing (apt-get install mmdebstrap e2fsprogs fdisk qemu-utils util-linux)"
done
mkdir -p "$cache"
exec 9>"$cache/debian-12.lock"
flock 9
if up_to_date; then
  echo "Debian 12 image up to date in $out"
  progress 100 "up to date"
  exit 0
fi

work=$(mktemp -d "$cache/.debian-12.build.XXXXXX")
child=
# mmdebstrap mounts /proc, /sys and /dev inside the tree while it works: if it is stopped half-way,
# those are unmounted before anything is deleted, and rm never crosses into another file system.
cleanup() {
  set +e
  [ -n "$child" ] && { kill "$child" 2>/dev/null; wait "$child" 2>/dev/null; }
  findmnt -rn -o TARGET | grep -F "$work/" | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
trap 'exit 143' TERM INT
root="$work/root"
# The host's Debian sources (bookworm, updates, security) when it has them: the same mirror setup
# apt uses here. Otherwise Debian's own.
sources=/etc/apt/sources.list.d/debian.sources
if [ -f "$sources" ] && grep -q '^Suites:.*bookworm' "$sources"; then mirrors=("$sources")
else mirrors=('deb http://deb.debian.org/debian bookworm main' 'deb http://deb.debian.org/debian bookworm-updates main' 'deb http://deb.debian.org/debian-security bookworm-security main'); fi

progress 5 "installing packages"
include=$(IFS=,; echo "${packages[*]}")
# Host keys and machine-id are made per instance (cloud-init, systemd): none may ship in the image.
# e2scrub only checks LVM volumes (there are none) and its boot-time reaper took 20 s under TCG.
mmdebstrap --mode=root --variant=minbase --include="$include" --format=directory \
  --customize-hook='rm -f "$1"/etc/ssh/ssh_host_* "$1"/var/lib/dbus/machine-id; : > "$1"/etc/machine-id' \
  --customize-hook='chroot "$1" systemctl enable serial-getty@ttyS0.service' \
  --customize-hook='echo localhost > "$1"/etc/hostname' \
  --customize-hook='chroot "$1" systemctl mask e2scrub_reap.service e2scrub_all.timer' \
  bookworm "$root" "${mirrors[@]}" >"$work/mmdebstrap.log" 2>&1 &
# In the background so that a TERM (the server stopping) reaches this script, which stops it.
child=$!
wait "$child" || { child=; tail -30 "$work/mmdebstrap.log" >&2; die "mmdebstrap failed"; }
child=

progress 60 "configuring"
cp -a "$here/rootfs/." "$root/"
kver=$(basename "$(readlink -f "$root/vmlinuz")"); kver=${kver#vmlinuz-}
[ -f "$root/boot/vmlinuz-$kver" ] && [ -f "$root/boot/initrd.img-$kver" ] || die "no kernel/initrd in the image"
cp "$root/boot/vmlinuz-$kver" "$work/vmlinuz"
cp "$root/boot/initrd.img-$kver" "$work/initrd.img"

progress 70 "making the root filesystem"
# A 2 GiB disk: an MBR, partition 1 from 1 MiB to the end, filled by mkfs.ext4 at that offset.
disk="$work/disk.raw"
truncate -s "${size_gb}G" "$disk"
printf 'label: dos\nlabel-id: 0x74776172\nstart=2048, type=83, bootable\n' | sfdisk -q "$disk"
part_kb=$(( size_gb * 1024 * 1024 - 1024 ))
mkfs.ext4 -q -F -L cloudimg-rootfs -d "$root" -E offset=$((2048 * 512)) "$disk" "${part_kb}k"

progress 85 "installing the bootloader"
# GRUB's core image (found its config on the partition it boots from) goes right after the MBR;
# boot.img's first 440 bytes (its code; the partition table stays) load it from sector 1.
chroot "$root" grub-mkimage -O i386-pc -o /tmp/core.img -p '(,msdos1)/boot/grub' \
  biosdisk part_msdos ext2 normal linux search search_label serial terminal echo test configfile
core="$root/tmp/core.img"
[ "$(stat -c %s "$core")" -lt $((2047 * 512)) ] || die "GRUB's core image does not fit before the partition"
dd if="$root/usr/lib/grub/i386-pc/boot.img" of="$disk" bs=440 count=1 conv=notrunc status=none
dd if="$core" of="$disk" bs=512 seek=1 conv=notrunc status=none

progress 90 "converting to qcow2"
qemu-img convert -q -f raw -O qcow2 "$disk" "$work/disk.qcow2"
rm -f "$disk"

progress 95 "checksums"
(cd "$work" && sha512sum disk.qcow2 vmlinuz initrd.img >SHA512SUMS)
printf '{ "image": "debian-12", "inputs": "%s", "kernel": "%s", "cmdline": "%s", "virtual_size_gb": %s, "ssh_user": "debian", "built_at": "%s" }\n' \
  "$inputs" "$kver" "$cmdline" "$size_gb" "$(date -u +%FT%TZ)" >"$work/build.json"
# The whole directory is swapped: files already handed out (hard-linked by servers) never change.
new="$cache/.debian-12.new"
rm -rf "$new" "$cache/.debian-12.old"
mkdir "$new"
mv "$work/disk.qcow2" "$work/vmlinuz" "$work/initrd.img" "$work/SHA512SUMS" "$work/build.json" "$new/"
[ -d "$out" ] && mv "$out" "$cache/.debian-12.old"
mv "$new" "$out"
rm -rf "$cache/.debian-12.old"
progress 100 "built"
echo "Debian 12 image built in $out (kernel $kver)"
