#!/usr/bin/env bash
# Usage: scripts/foreign-node.sh ARCH      (ARCH: arm64 | armv7l | s390x | ppc64le | x64)
#
# Provides a real Node.js binary built for another CPU, so tests can prove the agent
# runs there (through QEMU binfmt, see scripts/host-setup.sh). Fetches npm's
# node-linux-ARCH package into a cache outside the repository, unpacks it, installs
# the target's C/C++ runtime with Debian multiarch, and prints the node binary's path
# on stdout. Idempotent: a second run only checks (one emulated `node -p`, 1-3 s) and prints.
#
# Env: ARCHFARM_NODE_CACHE   (default /var/cache/archfarm/node)
#      ARCHFARM_FOREIGN_NODE_VERSION (default 20.11.0, the newest published for all four)
set -euo pipefail

LOG_PREFIX=foreign-node
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$HERE/lib.sh"

: "${ARCHFARM_NODE_CACHE:=/var/cache/archfarm/node}"
: "${ARCHFARM_FOREIGN_NODE_VERSION:=20.11.0}"

arch=${1:-}
case "$arch" in
  # want: what Node.js says in process.arch there (it names ppc64le "ppc64", armv7l "arm").
  arm64)   deb=arm64;   qemu=aarch64; want=arm64 ;;
  armv7l)  deb=armhf;   qemu=arm;     want=arm ;;
  s390x)   deb=s390x;   qemu=s390x;   want=s390x ;;
  ppc64le) deb=ppc64el; qemu=ppc64le; want=ppc64 ;;
  # The host's own CPU (amd64 only): the same Node.js build, e.g. for scripts/node-base.sh.
  x64)     deb=amd64;   qemu=;        want=x64 ;;
  *) die "usage: $0 arm64|armv7l|s390x|ppc64le|x64 (got '${arch}')" ;;
esac
[[ $EUID -eq 0 ]] || die "must run as root (installs multiarch packages)"

pkg="node-linux-${arch}@${ARCHFARM_FOREIGN_NODE_VERSION}"
dest="$ARCHFARM_NODE_CACHE/node-linux-${arch}-${ARCHFARM_FOREIGN_NODE_VERSION}"
node_bin="$dest/bin/node"

mkdir -p "$ARCHFARM_NODE_CACHE"
# Tests may ask for several arches at once: apt and the cache are serialised.
exec 9>"$ARCHFARM_NODE_CACHE/.lock"
flock 9

# 1. The binary: npm pack (no install scripts run), unpacked into a versioned dir.
if [[ ! -x $node_bin ]]; then
  log "fetching $pkg"
  tmp="$(mktemp -d "$ARCHFARM_NODE_CACHE/.tmp.XXXXXX")"
  (cd "$tmp" && npm pack --silent "$pkg" >/dev/null) || { rm -rf "$tmp"; die "npm pack $pkg failed"; }
  mkdir -p "$tmp/unpacked"
  tar -xzf "$tmp"/*.tgz -C "$tmp/unpacked" --strip-components=1
  [[ -f $tmp/unpacked/bin/node ]] || { rm -rf "$tmp"; die "$pkg has no bin/node"; }
  chmod 755 "$tmp/unpacked/bin/node"
  rm -rf "$dest"
  mv "$tmp/unpacked" "$dest"   # atomic: a half-unpacked dir is never seen as done
  rm -rf "$tmp"
fi

# 2. The target libc, libstdc++ and libgcc (armhf's node also links libatomic).
# (not `| grep -q`: with pipefail, grep's early exit can fail the pipeline.)
if [[ $deb != "$(dpkg --print-architecture)" && " $(dpkg --print-foreign-architectures | tr '\n' ' ') " != *" $deb "* ]]; then
  log "dpkg --add-architecture $deb"
  dpkg --add-architecture "$deb"
  _APT_UPDATED=0
fi
libs=("libc6:$deb" "libstdc++6:$deb" "libgcc-s1:$deb")
[[ $deb == armhf ]] && libs+=("libatomic1:$deb")
# apt_update_once (lib.sh) only warns on a partial `apt-get update` failure.
ensure_packages "${libs[@]}"

# 3. It must really run (binfmt registered by host-setup.sh).
[[ -z $qemu || -e /proc/sys/fs/binfmt_misc/qemu-$qemu ]] \
  || die "binfmt entry qemu-$qemu missing: run scripts/host-setup.sh first"
got="$("$node_bin" -p process.arch 2>&1)" || die "$node_bin does not run: $got"
[[ $got == "$want" ]] || die "$node_bin reports process.arch=$got, expected $want"

printf '%s\n' "$node_bin"
