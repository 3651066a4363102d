#!/usr/bin/env bash
# A bootable Debian 12 disk for a foreign CPU (arm64 or s390x), for the VM test fleet.
#
#   bash scripts/vm/image.sh arm64|s390x...  # prints, one a line, the directory of each with
#                                            # disk.img, vmlinuz, initrd.img
#
# Several CPUs are made at once (each is mostly one emulated dpkg at a time; under nice -n 19
# they use the cores no one else is using).
# Three cached layers under $ARCHFARM_VM_CACHE/<arch> (default /var/cache/archfarm/vm), outside
# the repository because they are big and slow to make:
#   root.tar  Debian's own packages for that CPU, by mmdebstrap (16.5 min for arm64, 9 for s390x
#             on a quiet 2-core host, 33 and 23 made at once on a busy one: package scripts run
#             under QEMU user mode). Made once. A
#             directory of that name (what mmdebstrap writes when the name lacks a .tar suffix)
#             is used too.
#   docker26/ Debian 13's docker.io 26.1.5 and containerd 1.7 for that CPU, fetched and unpacked
#             by scripts/docker26.sh --fetch-only (seconds). Never installed over bookworm's.
#   base/     an ext4 disk of both (label archfarm-root) plus the few files below, the kernel
#             and initrd; made again (about a minute) when this script or docker26/ changes.
# A VM never writes to base/disk.img: scripts/vm/boot.sh runs it on a copy-on-write overlay.
# The files added here make a plain Debian machine, as a Pi owner has, with a second, newer
# engine beside Debian's dockerd 20.10 (as a user who installed a current Docker has): Debian
# 13's dockerd 26 on its own containerd, with the containerd image store, its own socket
# (/run/docker26/docker.sock), roots and bridge (br26). Nothing archfarm-specific but three
# test conveniences: socat puts the host's registry (10.0.2.2:5000) on the VM's own
# 127.0.0.1:5000 so image names agree everywhere, socat serves the dockerd 26 socket on TCP
# 2376 (boot.sh forwards a host port to it), and a first-boot unit runs the
# /opt/archfarm-install/firstboot.sh that boot.sh puts on a second, per-run disk.
set -euo pipefail

LOG_PREFIX=vm-image
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$HERE/../lib.sh"
# shellcheck source=scripts/vm/docker26-vm.sh
source "$HERE/docker26-vm.sh"

(($#)) || die "usage: image.sh arm64|s390x..."
for arg in "$@"; do
  case "$arg" in
    arm64 | s390x) ;;
    *) die "usage: image.sh arm64|s390x..." ;;
  esac
done
CACHE_ROOT="${ARCHFARM_VM_CACHE:-/var/cache/archfarm/vm}"
DISK_SIZE=8G
# The include list of the cached root.tar: changing it means a new 10-40 minute build.
INCLUDE_COMMON=systemd-sysv,udev,docker.io,nodejs,iproute2,ifupdown,isc-dhcp-client,socat,ca-certificates,procps,hostname
# Where the VM's dockerd 26 lives and listens (the units below; boot.sh forwards the port).
D26=/opt/docker26
D26_RUN=/run/docker26
D26_PORT=2376
D26_BRIDGE_CIDR=10.226.26.1/24

[[ $EUID -eq 0 ]] || die "must run as root (mmdebstrap and mkfs keep file owners)"
# qemu-system-misc has qemu-system-s390x; qemu-utils has qemu-img (boot.sh's overlays).
# Two Recommends that --no-install-recommends leaves out and this needs: mmdebstrap stops
# without arch-test ("install arch-test for foreign architecture support"), and the arm64 VM's
# virtio-net-pci will not start without ipxe-qemu's efi-virtio.rom. mmdebstrap runs the
# foreign packages' scripts under QEMU user mode (qemu-user-static, as scripts/host-setup.sh).
# All in one apt run, before the CPUs are made in parallel (dpkg takes one lock).
ensure_packages qemu-system-arm qemu-system-misc qemu-utils ipxe-qemu mmdebstrap arch-test \
  e2fsprogs qemu-user-static binfmt-support

build_root_tar() {
  [[ -e $ROOT_TAR ]] && return
  mkdir -p "$CACHE"
  log "building $ROOT_TAR with mmdebstrap (10-40 minutes; log: $CACHE/mmdebstrap.log)"
  local start=$SECONDS
  rm -f "$CACHE/root.part.tar"
  # nice: the host keeps serving other work meanwhile. The .tar suffix selects the tar format.
  nice -n 19 mmdebstrap --arch="$ARCH" --variant=minbase --include="linux-image-$ARCH,$INCLUDE_COMMON" \
    bookworm "$CACHE/root.part.tar" >"$CACHE/mmdebstrap.log" 2>&1 \
    || { tail -n 20 "$CACHE/mmdebstrap.log" >&2; die "mmdebstrap failed"; }
  mv "$CACHE/root.part.tar" "$ROOT_TAR"
  log "root.tar for $ARCH built in $((SECONDS - start)) s"
}

unpack_root() { # into $1
  if [[ -d $ROOT_TAR ]]; then
    cp -a "$ROOT_TAR/." "$1/"
  else
    tar --numeric-owner -xpf "$ROOT_TAR" -C "$1"
  fi
}

# The files a Debian machine on a home network would have, plus the two test conveniences.
customise() { # rootfs
  local r="$1" name="archfarm-$ARCH"
  echo "$name" >"$r/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n' "$name" >"$r/etc/hosts"
  printf 'auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n' >"$r/etc/network/interfaces"
  # Under emulation udev's coldplug alone takes most of a minute: a long device timeout.
  printf 'LABEL=archfarm-root / ext4 rw,errors=remount-ro 0 1\nLABEL=archfarm-cfg /opt/archfarm-install ext4 ro,nofail,x-systemd.device-timeout=10min 0 0\n' >"$r/etc/fstab"
  mkdir -p "$r/opt/archfarm-install" "$r/etc/systemd/journald.conf.d" "$r/etc/systemd/system/multi-user.target.wants"
  # Every log line on the serial console too: boot.sh keeps it in a file for failed runs.
  printf '[Journal]\nForwardToConsole=yes\nMaxLevelConsole=info\n' >"$r/etc/systemd/journald.conf.d/console.conf"
  cat >"$r/etc/systemd/system/archfarm-registry-forward.service" <<'EOF'
[Unit]
Description=The host's registry (10.0.2.2:5000) on this VM's 127.0.0.1:5000, so image names agree
After=network-online.target
Wants=network-online.target

[Service]
ExecStart=/usr/bin/socat TCP-LISTEN:5000,bind=127.0.0.1,fork,reuseaddr TCP:10.0.2.2:5000
Restart=always

[Install]
WantedBy=multi-user.target
EOF
  cat >"$r/etc/systemd/system/archfarm-firstboot.service" <<'EOF'
[Unit]
Description=Run /opt/archfarm-install/firstboot.sh from the per-run disk (installs the archfarm agent)
RequiresMountsFor=/opt/archfarm-install
After=network-online.target docker.service archfarm-registry-forward.service
Wants=network-online.target docker.service
ConditionPathExists=/opt/archfarm-install/firstboot.sh
ConditionPathExists=!/var/lib/archfarm-firstboot.done

[Service]
Type=oneshot
ExecStart=/bin/bash /opt/archfarm-install/firstboot.sh
ExecStartPost=/usr/bin/touch /var/lib/archfarm-firstboot.done
StandardOutput=journal+console
StandardError=journal+console
Restart=on-failure
RestartSec=10s

[Install]
WantedBy=multi-user.target
EOF
  if [[ $ARCH == s390x ]]; then
    # Under qemu-system-s390x (QEMU 7.2, TCG) code from V8's optimising and baseline compilers
    # goes wrong at random: an illegal instruction, or "TypeError: object is not a function"
    # while loading the agent. The same node runs fine under qemu-user. Debian's node with
    # those two tiers off works; /usr/local/bin comes first on systemd's PATH and the unit
    # starts node through /usr/bin/env. A real mainframe needs none of this.
    printf '#!/bin/sh\n# archfarm VM image: see scripts/vm/image.sh\nexec /usr/bin/node --no-opt --no-sparkplug "$@"\n' >"$r/usr/local/bin/node"
    chmod 0755 "$r/usr/local/bin/node"
  fi
  local unit
  for unit in archfarm-registry-forward archfarm-firstboot; do
    ln -sf "/etc/systemd/system/$unit.service" "$r/etc/systemd/system/multi-user.target.wants/$unit.service"
  done
  add_docker26 "$r" "$D26_UNPACKED"
}

# trixie has docker.io and containerd for both CPUs (arm64: 26.1.5+dfsg1-9+deb13u1+b1, s390x:
# 26.1.5+dfsg1-9+deb13u1 from trixie-security); a CPU without them fails here, loudly.
# Its log only when it fails: boot.sh runs this script at every boot, when all is cached.
fetch_docker26() {
  D26_UNPACKED="$(ARCHFARM_DOCKER26_CACHE="$CACHE/docker26" ARCHFARM_DOCKER26_ARCH="$ARCH" \
    bash "$HERE/../docker26.sh" --fetch-only 2>"$CACHE/docker26.log")" \
    || { cat "$CACHE/docker26.log" >&2; die "no Debian 13 docker.io for $ARCH"; }
}

build_base() {
  local stamp want tmp root kernel initrd
  # The image's own files and the engine's .debs: a change in either makes a new disk.
  want="$({ cat "${BASH_SOURCE[0]}" "$HERE/docker26-vm.sh"; ls "$CACHE/docker26/debs"; } | sha256sum | cut -c1-16)"
  stamp="$BASE/stamp"
  if [[ -f $stamp && "$(cat "$stamp")" == "$want" ]]; then
    return
  fi
  log "making the $ARCH base disk in $BASE"
  tmp="$CACHE/base.tmp"
  rm -rf "$tmp"
  root="$tmp/root"
  mkdir -p "$root"
  unpack_root "$root"
  customise "$root"
  kernel="$(find "$root/boot" -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -n 1)"
  initrd="$(find "$root/boot" -maxdepth 1 -name 'initrd.img-*' | sort -V | tail -n 1)"
  [[ -n $kernel && -n $initrd ]] || die "no kernel or initrd in $ROOT_TAR/boot"
  cp "$kernel" "$tmp/vmlinuz"
  cp "$initrd" "$tmp/initrd.img"
  truncate -s "$DISK_SIZE" "$tmp/disk.img"
  nice -n 19 mkfs.ext4 -q -L archfarm-root -d "$root" -F "$tmp/disk.img"
  rm -rf "$root"
  echo "$want" >"$tmp/stamp"
  rm -rf "$BASE"
  mv "$tmp" "$BASE"
}

# One CPU's layers, in a subshell of its own (its globals are per CPU).
build_arch() {
  ARCH=$1 LOG_PREFIX="vm-image $1"
  CACHE="$CACHE_ROOT/$ARCH"
  ROOT_TAR="$CACHE/root.tar"
  BASE="$CACHE/base"
  build_root_tar
  fetch_docker26
  build_base
}

if (($# == 1)); then
  (build_arch "$1")
else
  pids=()
  for arch in "$@"; do
    (build_arch "$arch") &
    pids+=($!)
  done
  failed=0
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  ((failed == 0)) || die "an image failed (its lines above)"
fi
for arch in "$@"; do echo "$CACHE_ROOT/$arch/base"; done
