#!/usr/bin/env bash
# Builds the `twarga/tiny` Vagrant box (provider libvirt) and adds it to Vagrant:
#   <dist>/box/twarga-tiny.box   a tar.gz of
#     metadata.json   {"provider": "libvirt", "format": "qcow2", "virtual_size": 1}
#     box.img         a blank 1 GiB qcow2: the VM's /data disk (vda), formatted by the image on first boot
#     Vagrantfile     the box's defaults (root over SSH with sh, no synced folders, no key insertion)
# The tiny image boots from a kernel and an initrd (images/tiny/build.sh), so the box carries no
# operating system: every machine's Vagrantfile (apps/server/src/compute/vagrant/vagrantfile.ts)
# points lv.kernel/lv.initrd/lv.cmd_line at <dist>/vmlinuz and <dist>/initrd.img.
#
# Usage: images/tiny/build-box.sh [<dist-dir>]      (default images/tiny/dist)
# Idempotent: the box is rebuilt byte-for-byte the same, and `vagrant box add --force` runs only
# when the installed box differs. Honours VAGRANT_HOME (default ~/.vagrant.d): the server must
# run vagrant with the same VAGRANT_HOME to find the box.
# Note: vagrant-libvirt caches the box's disk in the storage pool as
# twarga-VAGRANTSLASH-tiny_vagrant_box_image_0_<time the box was added>_box.img: a re-added box gets
# a new volume, and the old one stays until deleted (`virsh vol-delete --pool default <name>`).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dist=${1:-$here/dist}
name=twarga/tiny
export VAGRANT_CHECKPOINT_DISABLE=1

for tool in qemu-img tar gzip vagrant cmp; do
  command -v "$tool" >/dev/null || { echo "build-box.sh: $tool is missing (apt-get install qemu-utils vagrant vagrant-libvirt)" >&2; exit 1; }
done
[ -f "$dist/vmlinuz" ] && [ -f "$dist/initrd.img" ] || { echo "build-box.sh: no tiny image in $dist (run images/tiny/build.sh $dist first)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/box"
printf '{\n  "provider": "libvirt",\n  "format": "qcow2",\n  "virtual_size": 1\n}\n' >"$work/box/metadata.json"
cat >"$work/box/Vagrantfile" <<'EOF'
# twarga/tiny: busybox + dropbear in an initramfs, booted directly from a kernel by libvirt.
# Machines must set lv.kernel, lv.initrd and lv.cmd_line (Twarga Cloud's generated Vagrantfile
# does), attach a NoCloud seed (label cidata) as a virtio disk for root's SSH keys, and use a guest
# whose halt runs `poweroff` (the image has no `shutdown`).
Vagrant.configure('2') do |config|
  config.vm.synced_folder '.', '/vagrant', disabled: true
  config.ssh.insert_key = false
  config.ssh.username = 'root'
  config.ssh.shell = 'sh'
  config.ssh.sudo_command = '%c'
  config.vm.provider :libvirt do |lv|
    lv.disk_bus = 'virtio'
    lv.graphics_type = 'none'
  end
end
EOF
qemu-img create -q -f qcow2 "$work/box/box.img" 1G
# A reproducible archive: fixed order, owners and times, no name or time in the gzip header.
(cd "$work/box" && tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - metadata.json Vagrantfile box.img) | gzip -n -9 >"$work/twarga-tiny.box"

mkdir -p "$dist/box"
if ! cmp -s "$work/twarga-tiny.box" "$dist/box/twarga-tiny.box"; then
  mv "$work/twarga-tiny.box" "$dist/box/twarga-tiny.box"
  (cd "$dist/box" && sha256sum twarga-tiny.box >twarga-tiny.box.sha256)
  echo "==> box built: $dist/box/twarga-tiny.box"
fi

# Installed already with the same files? (vagrant unpacks boxes into VAGRANT_HOME/boxes/<name>/<version>/<provider>)
installed="${VAGRANT_HOME:-$HOME/.vagrant.d}/boxes/twarga-VAGRANTSLASH-tiny/0/libvirt"
same=1
for f in metadata.json Vagrantfile box.img; do
  cmp -s "$work/box/$f" "$installed/$f" || same=0
done
if [ "$same" = 1 ]; then
  echo "==> box $name up to date in ${VAGRANT_HOME:-$HOME/.vagrant.d}"
  exit 0
fi
vagrant box add --force --name "$name" "$dist/box/twarga-tiny.box" >"$work/add.log" 2>&1 || { cat "$work/add.log" >&2; echo "build-box.sh: vagrant box add failed" >&2; exit 1; }
echo "==> box $name added to ${VAGRANT_HOME:-$HOME/.vagrant.d}"
