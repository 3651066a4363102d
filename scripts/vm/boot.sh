#!/usr/bin/env bash
# Boots one VM of the test fleet: a Debian 12 arm64 or s390x machine, fully emulated
# (qemu-system, TCG), with its own kernel, dockerd and Node.js.
#
#   bash scripts/vm/boot.sh arm64|s390x WORKDIR
#
# WORKDIR/config/ becomes a small read-only disk that the VM mounts at /opt/archfarm-install;
# if it holds firstboot.sh, the VM runs it once, as root, when docker and the network are up.
# The VM's disk is a copy-on-write overlay (WORKDIR/disk.qcow2) of the cached base disk from
# scripts/vm/image.sh, so every run starts from the same clean machine.
# The console (kernel and every journal line) goes to WORKDIR/console.log.
# Ends by exec'ing qemu: this process's pid is the VM's, and killing it pulls the VM's plug.
# Networking is QEMU user mode: the VM dials out; the host's loopback is 10.0.2.2 inside it.
# With ARCHFARM_VM_DOCKER26_PORT set, that port of the host's loopback reaches the VM's
# dockerd 26 (scripts/vm/docker26-vm.sh), for an agent on the host that drives it remotely.
set -euo pipefail

LOG_PREFIX=vm-boot
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$HERE/../lib.sh"

ARCH="${1:-}" WORK="${2:-}"
if [[ $ARCH != arm64 && $ARCH != s390x ]] || [[ -z $WORK ]]; then die "usage: boot.sh arm64|s390x WORKDIR"; fi
MEMORY="${ARCHFARM_VM_MEMORY:-2048}"
CPUS="${ARCHFARM_VM_CPUS:-2}"
NETDEV=user,id=n0
if [[ -n ${ARCHFARM_VM_DOCKER26_PORT:-} ]]; then
  NETDEV+=",hostfwd=tcp:127.0.0.1:$ARCHFARM_VM_DOCKER26_PORT-:2376"
fi

BASE="$(bash "$HERE/image.sh" "$ARCH")"
mkdir -p "$WORK/config"
WORK="$(cd "$WORK" && pwd)"
rm -f "$WORK/disk.qcow2" "$WORK/config.img" "$WORK/console.log"
qemu-img create -q -f qcow2 -b "$BASE/disk.img" -F raw "$WORK/disk.qcow2"
mkfs.ext4 -q -L archfarm-cfg -d "$WORK/config" -F "$WORK/config.img" 64M

# apparmor=0: dockerd in the VM cannot apply its AppArmor profile without the userspace
# tools, and every RUN step fails ("unable to apply apparmor profile").
APPEND="root=LABEL=archfarm-root rw net.ifnames=0 apparmor=0 systemd.show_status=1"
COMMON=(
  -smp "$CPUS" -m "$MEMORY"
  -kernel "$BASE/vmlinuz" -initrd "$BASE/initrd.img"
  -display none -monitor none -serial "file:$WORK/console.log"
  -netdev "$NETDEV"
)
case "$ARCH" in
  arm64)
    # Cortex-A72, the CPU of a Raspberry Pi 4 (and cheaper to emulate than -cpu max).
    exec qemu-system-aarch64 -M virt -cpu cortex-a72 "${COMMON[@]}" \
      -append "$APPEND console=ttyAMA0" \
      -drive "file=$WORK/disk.qcow2,if=virtio,format=qcow2" \
      -drive "file=$WORK/config.img,if=virtio,format=raw,readonly=on" \
      -device virtio-net-pci,netdev=n0 </dev/null
    ;;
  s390x)
    exec qemu-system-s390x -M s390-ccw-virtio -cpu max "${COMMON[@]}" \
      -append "$APPEND" \
      -drive "file=$WORK/disk.qcow2,if=none,id=d0,format=qcow2" -device virtio-blk-ccw,drive=d0 \
      -drive "file=$WORK/config.img,if=none,id=d1,format=raw,readonly=on" -device virtio-blk-ccw,drive=d1 \
      -device virtio-net-ccw,netdev=n0 </dev/null
    ;;
esac
