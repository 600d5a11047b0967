#!/usr/bin/env bash
# Installs what is missing (Debian packages, npm packages) and builds Twarga Cloud.
#   scripts/setup.sh          what the server needs
#   scripts/setup.sh --test   plus what the test tiers need (PostgreSQL, Chromium, OpenSSH tools)
# Safe to run again: it installs only what is missing and rebuilds.
set -euo pipefail
cd "$(dirname "$0")/.."

want_tests=false
[ "${1:-}" = "--test" ] && want_tests=true

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# --- Node.js -------------------------------------------------------------------------
command -v node >/dev/null || die "Node.js >= 20.6 is required (https://nodejs.org or your distribution's nodejs 20+ package)"
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=6)?0:1)' \
  || die "Node.js >= 20.6 is required, found $(node --version)"

# --- Debian packages -----------------------------------------------------------------
# Server: a C/C++ toolchain in case better-sqlite3/argon2 must compile for this Node;
# QEMU and what builds the built-in tiny image and the NoCloud seed ISOs; mmdebstrap and fdisk
# build the Debian 12 image (the server builds it in the background on its first start).
packages=(build-essential python3 ca-certificates qemu-system-x86 qemu-utils genisoimage
  busybox-static dropbear-bin cpio kmod mmdebstrap fdisk)
# Tests: a real PostgreSQL, Debian's Chromium for the browser tier, ssh-keygen for real keys (and
# ssh for `twarga vm ssh`; sshd for a remote libvirt host reached over SSH), zsh to check the CLI's
# zsh completion script, HAProxy in front of two server processes (the scale-out test), and libvirt + Vagrant
# (vagrant-libvirt) for the libvirt and Vagrant drivers; their daemon runs only inside a network
# namespace the tests create (scripts/lib/libvirt-netns.sh).
$want_tests && packages+=(postgresql chromium openssh-client openssh-server zsh fonts-dejavu-core haproxy
  libvirt-daemon-system libvirt-clients dnsmasq-base iptables iproute2 vagrant vagrant-libvirt)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || die "missing packages (${missing[*]}) and no apt-get: install them by hand"
  sudo=(); [ "$(id -u)" = 0 ] || sudo=(sudo)
  say "installing Debian packages: ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # libvirt's packages start a system libvirtd (and its 192.168.122.0/24 bridge) where systemd
  # runs: the tests want their own, in a namespace, so the system one is stopped and disabled.
  if printf '%s\n' "${missing[@]}" | grep -qx libvirt-daemon-system && command -v systemctl >/dev/null; then
    "${sudo[@]}" systemctl disable --now libvirtd.service libvirtd.socket libvirtd-ro.socket libvirtd-admin.socket virtlogd.socket >/dev/null 2>&1 || true
  fi
  # openssh-server is there for its sshd binary (the qemu+ssh host test runs its own, in a
  # namespace); the package would start a system sshd on port 22: it is stopped and disabled.
  if printf '%s\n' "${missing[@]}" | grep -qx openssh-server && command -v systemctl >/dev/null; then
    "${sudo[@]}" systemctl disable --now ssh.service ssh.socket >/dev/null 2>&1 || true
  fi
  # The Debian package starts a system-wide proxy we do not use: the test runs its own.
  if printf '%s\n' "${missing[@]}" | grep -qx haproxy && command -v systemctl >/dev/null; then
    "${sudo[@]}" systemctl disable --now haproxy >/dev/null 2>&1 || true
  fi
  # The Debian package starts a system-wide cluster we do not use: tests run their own.
  if printf '%s\n' "${missing[@]}" | grep -qx postgresql && command -v pg_lsclusters >/dev/null; then
    "${sudo[@]}" systemctl disable --now postgresql >/dev/null 2>&1 || true
  fi
fi

# --- npm packages --------------------------------------------------------------------
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

# --- build ---------------------------------------------------------------------------
say "building"
npm run build --silent >/dev/null
# The built-in tiny image (kernel + initramfs from Debian packages), cached with checksums.
bash images/tiny/build.sh images/tiny/dist
# The same image as a Vagrant box (twarga/tiny), for the Vagrant driver, when Vagrant is here.
if command -v vagrant >/dev/null; then bash images/tiny/build-box.sh images/tiny/dist; fi
# The tests boot Debian 12: build it now (cached in /var/cache/twarga/images; about 1.5 min the
# first time). The server alone does not wait for it: it builds the image in the background.
if $want_tests; then
  if [ "$(id -u)" = 0 ]; then bash images/debian/build.sh | grep -v '^PROGRESS'
  else echo "note: not root, the Debian 12 image is not built (its tests will fail)" >&2; fi
  if command -v vagrant >/dev/null && bash images/debian/build.sh --check; then bash images/debian/build-box.sh; fi
fi
say "ready"
