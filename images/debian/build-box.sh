#!/usr/bin/env bash
# Makes the `twarga/debian-12` Vagrant box (provider libvirt) from the Debian 12 image that
# images/debian/build.sh built, and adds it to Vagrant. The box is a tar of
#     metadata.json   {"provider": "libvirt", "format": "qcow2", "virtual_size": 2}
#     box.img         the image's disk.qcow2 (MBR + GRUB + ext4 root, booted by the BIOS)
#     Vagrantfile     the box's defaults (user debian, virtio disk, no synced folders, no key insertion)
# cloud-init in the box reads the NoCloud seed the Vagrant driver attaches (hostname, keys,
# the user's user-data) and grows the root filesystem to the machine's disk.
#
# Usage: images/debian/build-box.sh [<image-dir>]
#   <image-dir>  default <cache-root>/debian-12, with <cache-root> as in build.sh
#                ($TWARGA_IMAGE_CACHE, else /var/cache/twarga/images when writable, else
#                ${XDG_CACHE_HOME:-~/.cache}/twarga/images)
# Idempotent and cheap when nothing changed: the installed box's files are compared with the
# image's first, and the box is made and `vagrant box add --force`d only when they differ.
# The archive is reproducible (fixed order, owners and times) and not compressed (the qcow2
# is compact already; gzip would add a minute). It lives in a temporary directory next to the
# image and is removed once added: the installed box is the only copy.
# Honours VAGRANT_HOME (default ~/.vagrant.d): the server must run vagrant with the same one.
# Note: vagrant-libvirt caches box.img in the storage pool as
# twarga-VAGRANTSLASH-debian-12_vagrant_box_image_0_<time the box was added>_box.img: a re-added
# box gets a new volume, and the old one stays until deleted (`virsh vol-delete --pool default <name>`).
set -euo pipefail
name=twarga/debian-12
export VAGRANT_CHECKPOINT_DISABLE=1

default_cache() {
  if [ -n "${TWARGA_IMAGE_CACHE:-}" ]; then echo "$TWARGA_IMAGE_CACHE"; return; fi
  if mkdir -p /var/cache/twarga/images 2>/dev/null && [ -w /var/cache/twarga/images ]; then echo /var/cache/twarga/images; return; fi
  echo "${XDG_CACHE_HOME:-$HOME/.cache}/twarga/images"
}
image=${1:-$(default_cache)/debian-12}
die() { echo "build-box.sh: $*" >&2; exit 1; }

for tool in tar vagrant cmp sha512sum; do
  command -v "$tool" >/dev/null || die "$tool is missing (apt-get install vagrant vagrant-libvirt)"
done
[ -f "$image/disk.qcow2" ] && [ -f "$image/SHA512SUMS" ] || die "no Debian 12 image in $image (run images/debian/build.sh first)"
# A damaged disk must not become a box: check it against the build's checksum.
(cd "$image" && grep ' disk\.qcow2$' SHA512SUMS | sha512sum -c --quiet --status) || die "$image/disk.qcow2 does not match its SHA512SUMS (rebuild: images/debian/build.sh)"

work=$(mktemp -d "$(dirname "$image")/.debian-12.box.XXXXXX" 2>/dev/null || mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/box"
printf '{\n  "provider": "libvirt",\n  "format": "qcow2",\n  "virtual_size": 2\n}\n' >"$work/box/metadata.json"
cat >"$work/box/Vagrantfile" <<'EOF'
# twarga/debian-12: Twarga Cloud's Debian 12 image (images/debian/build.sh), booted by the BIOS
# from its disk. cloud-init creates the user `debian` and installs the SSH keys of the NoCloud
# seed (a disk labelled cidata) that machines attach: without one, nobody can log in.
Vagrant.configure('2') do |config|
  config.vm.synced_folder '.', '/vagrant', disabled: true
  config.ssh.insert_key = false
  config.ssh.username = 'debian'
  config.vm.provider :libvirt do |lv|
    lv.disk_bus = 'virtio'
    lv.graphics_type = 'none'
  end
end
EOF
# The disk itself, not a copy: a hard link when it can be one (same file system), else a copy.
ln "$image/disk.qcow2" "$work/box/box.img" 2>/dev/null || cp "$image/disk.qcow2" "$work/box/box.img"

# Installed already with the same files? (vagrant unpacks boxes into VAGRANT_HOME/boxes/<name>/<version>/<provider>)
home=${VAGRANT_HOME:-$HOME/.vagrant.d}
installed="$home/boxes/twarga-VAGRANTSLASH-debian-12/0/libvirt"
same=1
for f in metadata.json Vagrantfile box.img; do
  cmp -s "$work/box/$f" "$installed/$f" || { same=0; break; }
done
if [ "$same" = 1 ]; then
  echo "==> box $name up to date in $home"
  exit 0
fi

# A reproducible archive: fixed order, owners and times.
(cd "$work/box" && tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$work/twarga-debian-12.box" metadata.json Vagrantfile box.img)
vagrant box add --force --name "$name" "$work/twarga-debian-12.box" >"$work/add.log" 2>&1 || { cat "$work/add.log" >&2; die "vagrant box add failed"; }
echo "==> box $name added to $home"
