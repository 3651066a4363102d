#!/usr/bin/env bash
# Prepare this (Debian 12, root) machine for archfarm: a Docker engine, QEMU
# user-mode emulation through binfmt_misc, a loopback registry without auth, Podman
# (the second engine; the tests start its API service themselves), and the client
# tools the tests use. Idempotent: whatever already works is left alone,
# so a second run takes well under a second.
#
# Env: ARCHFARM_REGISTRY_ADDR (default 127.0.0.1:5000),
#      ARCHFARM_REGISTRY_DIR  (default /var/lib/archfarm/registry).
set -euo pipefail

LOG_PREFIX=setup
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$HERE/lib.sh"

: "${ARCHFARM_REGISTRY_DIR:=/var/lib/archfarm/registry}"
REGISTRY_CONFIG="$(dirname "$HERE")/deploy/registry/config.yml"
DOCKER_SOCK=/var/run/docker.sock
DOCKERD_LOG=/var/log/archfarm-dockerd.log
REGISTRY_LOG=/var/log/archfarm-registry.log
# binfmt entries we need, as named by qemu-user-static (qemu-<name>).
QEMU_TARGETS=(aarch64 arm s390x ppc64le)

PACKAGES=(
  docker.io           # dockerd 20.10 + containerd + runc (+ iptables, a Depends)
  docker-registry     # CNCF distribution 2.8
  qemu-user-static binfmt-support
  skopeo curl jq
  apache2-utils       # htpasswd, for registry auth tests
  systemd shellcheck  # systemd-analyze verify and shellcheck for deploy/ (test/src/deploy.test.ts)
  podman              # its Docker-compatible API socket is the second engine (test/src/podman.test.ts)
  git                 # the coordinator fetches git contexts with it; git daemon serves them in tests (test/src/git-context.test.ts)
  tmux                # a real terminal for `build --progress tty` (test/src/progress-tty.test.ts)
)

[[ $EUID -eq 0 ]] || die "must run as root"

# --- Docker engine -----------------------------------------------------------

dockerd_answers() {
  [[ "$(curl -s -m 3 --unix-socket "$DOCKER_SOCK" http://docker/_ping 2>/dev/null)" == OK ]]
}

start_dockerd() {
  if dockerd_answers; then
    log "dockerd already running"
  else
    log "starting dockerd (log: $DOCKERD_LOG)"
    # setsid+nohup: the daemon must outlive this script and the CI step's session.
    setsid nohup /usr/sbin/dockerd --host "unix://$DOCKER_SOCK" \
      >>"$DOCKERD_LOG" 2>&1 </dev/null &
    if ! wait_until 60 dockerd dockerd_answers; then
      tail -n 20 "$DOCKERD_LOG" >&2 || true
      die "dockerd did not come up (see $DOCKERD_LOG)"
    fi
  fi
  check_docker_client
}

# /usr/local/bin/docker (a 28.x client) comes first on PATH; it negotiates the
# API down to 1.41. Make sure whatever `docker` resolves to reaches our daemon.
check_docker_client() {
  if [[ -n "${DOCKER_HOST:-}" && "$DOCKER_HOST" != "unix://$DOCKER_SOCK" ]]; then
    log "warning: DOCKER_HOST=$DOCKER_HOST, not unix://$DOCKER_SOCK"
  fi
  local want got
  want="$(curl -s --unix-socket "$DOCKER_SOCK" http://docker/version | jq -r .Version)"
  got="$(docker info --format '{{.ServerVersion}}' 2>/dev/null)" \
    || die "'$(command -v docker)' cannot talk to dockerd at $DOCKER_SOCK"
  [[ "$got" == "$want" ]] \
    || die "'$(command -v docker)' talks to engine $got, expected dockerd $want"
}

# --- QEMU via binfmt_misc ----------------------------------------------------

binfmt_dir=/proc/sys/fs/binfmt_misc

# One entry is good when it is enabled and has the F flag (interpreter opened at
# registration time, so it works inside containers whose rootfs has no qemu).
binfmt_entry_ok() {
  local f="$binfmt_dir/qemu-$1"
  [[ -r $f ]] && grep -qx enabled "$f" && grep -Eq '^flags: .*F' "$f"
}

binfmt_ok() {
  local t
  for t in "${QEMU_TARGETS[@]}"; do binfmt_entry_ok "$t" || return 1; done
}

# Mounted before qemu-user-static is installed, so its postinst registers directly.
mount_binfmt() {
  mountpoint -q "$binfmt_dir" && return
  log "mounting binfmt_misc"
  mount -t binfmt_misc binfmt_misc "$binfmt_dir" || die "cannot mount binfmt_misc"
}

setup_binfmt() {
  if binfmt_ok; then
    log "binfmt: qemu ${QEMU_TARGETS[*]} already registered"
    return
  fi
  local t f
  for t in "${QEMU_TARGETS[@]}"; do
    binfmt_entry_ok "$t" && continue
    f="$binfmt_dir/qemu-$t"
    log "binfmt: registering qemu-$t"
    # A kernel entry that is merely disabled is skipped by update-binfmts, and one
    # without F cannot be changed in place: drop it and let update-binfmts
    # register it again from /usr/share/binfmts (which asks for F).
    if [[ -e $f ]]; then echo -1 >"$f"; fi
    update-binfmts --enable "qemu-$t" >&2 || true # verified below
  done
  for t in "${QEMU_TARGETS[@]}"; do
    binfmt_entry_ok "$t" || die "binfmt: qemu-$t is not registered+enabled with the F flag: $(
      tr '\n' ' ' <"$binfmt_dir/qemu-$t" 2>/dev/null || echo missing)"
  done
  log "binfmt: qemu ${QEMU_TARGETS[*]} registered"
}

# --- Registry ----------------------------------------------------------------

start_registry() {
  local url="http://$ARCHFARM_REGISTRY_ADDR/v2/" code
  code="$(http_code "$url")"
  case "$code" in
    200) log "registry already answering on $ARCHFARM_REGISTRY_ADDR"; return ;;
    000) ;;
    *) die "something answers on $ARCHFARM_REGISTRY_ADDR with HTTP $code (not an auth-less registry); stop it or set ARCHFARM_REGISTRY_ADDR" ;;
  esac
  [[ -r "$REGISTRY_CONFIG" ]] || die "missing $REGISTRY_CONFIG"
  mkdir -p "$ARCHFARM_REGISTRY_DIR"
  log "starting registry on $ARCHFARM_REGISTRY_ADDR (data: $ARCHFARM_REGISTRY_DIR, log: $REGISTRY_LOG)"
  # Not the packaged service: no systemd here, and its config wants htpasswd.
  REGISTRY_HTTP_ADDR="$ARCHFARM_REGISTRY_ADDR" \
  REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY="$ARCHFARM_REGISTRY_DIR" \
    setsid nohup /usr/bin/docker-registry serve "$REGISTRY_CONFIG" \
    >>"$REGISTRY_LOG" 2>&1 </dev/null &
  if ! wait_until 30 registry curl -fsS -m 3 "$url"; then
    tail -n 20 "$REGISTRY_LOG" >&2 || true
    die "registry did not answer on $url (see $REGISTRY_LOG)"
  fi
}

# --- Podman ------------------------------------------------------------------

PODMAN_REGISTRIES_CONF=/etc/containers/registries.conf.d/archfarm-test.conf
PODMAN_ULIMITS_CONF=/etc/containers/containers.conf.d/archfarm-ulimits.conf

# write_conf FILE CONTENT WHAT: (re)writes FILE only when its content differs.
write_conf() {
  if [[ -r $1 && "$(cat "$1")" == "$2" ]]; then
    log "podman: $3 already in $1"
    return
  fi
  log "podman: $3 -> $1"
  mkdir -p "$(dirname "$1")"
  printf '%s\n' "$2" >"$1"
}

# Unlike dockerd, Podman does not treat loopback registries as plain HTTP: it reads
# that from registries.conf.d.
podman_insecure_registry() {
  write_conf "$PODMAN_REGISTRIES_CONF" "$(printf '%s\n' \
    '# Written by archfarm scripts/host-setup.sh: the loopback test registry speaks plain HTTP.' \
    '[[registry]]' "location = \"$ARCHFARM_REGISTRY_ADDR\"" 'insecure = true')" \
    "$ARCHFARM_REGISTRY_ADDR insecure"
}

has_cap_sys_resource() {
  local eff
  eff="$(awk '/^CapEff:/ {print $2}' /proc/self/status)"
  (((16#$eff >> 24) & 1)) # CAP_SYS_RESOURCE is capability 24
}

# Rootful Podman gives every container nofile/nproc limits of 1048576/4194304, which
# only a root with CAP_SYS_RESOURCE may set. Without it (this kind of VM, LXC), every
# `podman run` fails: "error setting rlimit type 7: operation not permitted". There,
# the defaults become what this machine allows (nproc above kernel.pid_max failed too).
podman_ulimits() {
  if has_cap_sys_resource; then
    log "podman: root has CAP_SYS_RESOURCE; podman's default ulimits work"
    return
  fi
  local nofile nproc pid_max
  nofile="$(ulimit -Hn)" nproc="$(ulimit -Hu)" pid_max="$(cat /proc/sys/kernel/pid_max)"
  [[ $nofile == unlimited ]] && nofile=1048576
  [[ $nproc == unlimited || $nproc -gt $pid_max ]] && nproc=$pid_max
  write_conf "$PODMAN_ULIMITS_CONF" "$(printf '%s\n' \
    '# Written by archfarm scripts/host-setup.sh: root here lacks CAP_SYS_RESOURCE, so podman' \
    "# cannot raise a container's limits above this machine's hard limits." \
    '[containers]' "default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=$nproc:$nproc\"]")" \
    "container ulimits nofile=$nofile nproc=$nproc"
}

main() {
  local t0=$SECONDS
  mount_binfmt
  ensure_packages "${PACKAGES[@]}"
  setup_binfmt
  start_dockerd
  start_registry
  podman_insecure_registry
  podman_ulimits
  log "ready in $((SECONDS - t0))s: docker on unix://$DOCKER_SOCK, registry http://$ARCHFARM_REGISTRY_ADDR"
}

main "$@"
