#!/usr/bin/env bash
# Run a second, newer Docker engine beside Debian 12's dockerd 20.10: Debian 13's dockerd
# 26.1.5 on Debian 13's containerd 1.7, with the containerd image store switched on (as on
# fresh installs of Docker 29). Tests start agents with `--docker-host` on its socket.
#
# The .debs come from the trixie suite of the mirror this machine's apt already uses,
# through a sources list and apt state of their own (the system's sources and package
# database are never touched), and are only unpacked (`dpkg-deb -x`) into a cache dir.
# Trixie's runc needs glibc 2.38, so the engine uses bookworm's /usr/sbin/runc (1.1.5).
#
# Everything is its own: containerd's root, state, config and socket; dockerd's socket,
# data root, exec root, pid file, daemon.json and a bridge (br26). iptables stays off, so
# the host dockerd's rules are left alone; `--bridge none` is never used (every RUN step
# fails there, and it once left the host dockerd without docker0).
#
# Idempotent: when the engine already answers as it should, it only prints the socket
# (well under a second). Prints the DOCKER_HOST form of the socket on stdout, nothing else.
#
# Usage: scripts/docker26.sh [--verify | --fetch-only]
#   --verify      also build an image with a RUN step on this engine and on the host's
#                 dockerd (both must still work side by side)
#   --fetch-only  only fetch and unpack the binaries (for ARCHFARM_DOCKER26_ARCH) into the
#                 cache and print the directory they are in (scripts/vm/image.sh puts an
#                 arm64 or s390x one into its VM images)
#
# Env: ARCHFARM_DOCKER26_CACHE  (default /var/cache/archfarm/docker26: apt state, .debs, binaries)
#      ARCHFARM_DOCKER26_DATA   (default /var/lib/archfarm-docker26: dockerd's and containerd's data)
#      ARCHFARM_DOCKER26_RUN    (default /run/archfarm-docker26: sockets, pid files, state)
#      ARCHFARM_DOCKER26_BRIDGE (default br26) and ARCHFARM_DOCKER26_BRIDGE_CIDR
#                               (default 10.226.26.1/24: not docker0's 172.17/16, not podman's 10.88/16)
#      ARCHFARM_DOCKER26_SUITE  (default trixie)
#      ARCHFARM_DOCKER26_ARCH   (default this machine's: dpkg --print-architecture; another
#                               CPU's binaries are checked under QEMU user mode)
set -euo pipefail

LOG_PREFIX=docker26
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$HERE/lib.sh"

: "${ARCHFARM_DOCKER26_CACHE:=/var/cache/archfarm/docker26}"
: "${ARCHFARM_DOCKER26_DATA:=/var/lib/archfarm-docker26}"
: "${ARCHFARM_DOCKER26_RUN:=/run/archfarm-docker26}"
: "${ARCHFARM_DOCKER26_BRIDGE:=br26}"
: "${ARCHFARM_DOCKER26_BRIDGE_CIDR:=10.226.26.1/24}"
: "${ARCHFARM_DOCKER26_SUITE:=trixie}"
: "${ARCHFARM_DOCKER26_ARCH:=$(dpkg --print-architecture)}"

CACHE=$ARCHFARM_DOCKER26_CACHE
RUN=$ARCHFARM_DOCKER26_RUN
DATA=$ARCHFARM_DOCKER26_DATA
ROOT=$CACHE/root # the unpacked .debs
PACKAGES=(docker.io containerd)
BUILDX_PLUGIN=usr/libexec/docker/cli-plugins/docker-buildx
WANT_DOCKERD=26.
WANT_CONTAINERD=1.7.
SOCK=$RUN/docker.sock
CONTAINERD_SOCK=$RUN/containerd.sock
DOCKERD_LOG=/var/log/archfarm-dockerd26.log
CONTAINERD_LOG=/var/log/archfarm-containerd26.log
SNAPSHOTTER=io.containerd.snapshotter.v1
# The engine's own binaries first; runc (and nothing else) then comes from bookworm.
ENGINE_PATH=$ROOT/usr/sbin:$ROOT/usr/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin
HOST_SOCK=/var/run/docker.sock

VERIFY=0 FETCH_ONLY=0
case "${1:-}" in
  '') ;;
  --verify) VERIFY=1 ;;
  --fetch-only) FETCH_ONLY=1 ;;
  *) die "usage: $0 [--verify | --fetch-only]" ;;
esac

# --- The engine answers? -------------------------------------------------------

api() { curl -s -m 5 --unix-socket "$SOCK" "http://docker$1" 2>/dev/null; }

dockerd_answers() { [[ "$(api /_ping)" == OK ]]; }

# Answers, is 26.x, and keeps images in containerd (DriverStatus lists driver-type).
engine_ok() {
  dockerd_answers || return 1
  local info
  info="$(api /info)" || return 1
  jq -e --arg v "$WANT_DOCKERD" --arg d "$SNAPSHOTTER" \
    '(.ServerVersion | startswith($v)) and ([.DriverStatus[]? | select(.[0] == "driver-type") | .[1]] | index($d) != null)' \
    <<<"$info" >/dev/null
}

# --- The binaries: trixie's .debs, unpacked, never installed ---------------------

# The first URI that serves this machine's own suite (bookworm) of Debian's main archive,
# from one-line .list files and deb822 .sources files alike.
codename() {
  # shellcheck source=/dev/null
  (. /etc/os-release && echo "$VERSION_CODENAME")
}

debian_mirror() { # [SUITE], default this machine's own
  local codename files=()
  codename="${1:-$(codename)}"
  [[ -r /etc/apt/sources.list ]] && files+=(/etc/apt/sources.list)
  shopt -s nullglob
  files+=(/etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources)
  shopt -u nullglob
  ((${#files[@]})) || return 1
  awk -v suite="$codename" '
    function hit(uri) { if (!done) { print uri; done = 1 } }
    FILENAME ~ /\.list$/ {
      sub(/#.*/, ""); if ($1 != "deb") next
      i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
      if ($(i + 1) == suite) hit($i); next
    }
    # deb822: a stanza ends at a blank line (or the end of the file).
    function stanza() {
      if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") && enabled != "no") hit(uris)
      types = ""; uris = ""; suites = ""; enabled = ""
    }
    FNR == 1 { stanza() }
    /^[ \t]*$/ { stanza(); next }
    /^#/ { next }
    tolower($1) == "types:" { $1 = ""; types = substr($0, 2) }
    tolower($1) == "uris:" { uris = $2 }
    tolower($1) == "suites:" { $1 = ""; suites = substr($0, 2) }
    tolower($1) == "enabled:" { enabled = tolower($2) }
    END { stanza() }
  ' "${files[@]}"
}

binaries_ok() {
  [[ -x $ROOT/usr/sbin/dockerd && -x $ROOT/usr/bin/containerd && -x $ROOT/usr/bin/containerd-shim-runc-v2 && -x $ROOT/usr/bin/ctr ]] || return 1
  if [[ $ARCHFARM_DOCKER26_ARCH != "$(dpkg --print-architecture)" ]]; then
    # Another CPU's dockerd needs that CPU's libsystemd even for --version: the .debs say.
    [[ "$(deb_version docker.io)" == "$WANT_DOCKERD"* && "$(deb_version containerd)" == "$WANT_CONTAINERD"* ]]
    return
  fi
  [[ "$("$ROOT/usr/sbin/dockerd" --version 2>/dev/null)" == "Docker version $WANT_DOCKERD"* ]] || return 1
  [[ "$("$ROOT/usr/bin/containerd" --version 2>/dev/null)" == *" $WANT_CONTAINERD"* ]]
}

deb_version() { # PACKAGE: the Version of its .deb in the cache
  local debs=("$CACHE/debs/$1"_*.deb)
  [[ -f ${debs[0]} ]] && dpkg-deb -f "${debs[0]}" Version
}

# apt-get download PACKAGE:ARCH, trying each version the indexes list, newest first: this
# mirror lists trixie's docker.io 26.1.5+dfsg1-9+deb13u1+b1 for s390x (a binNMU) but answers
# 404 for its file, while trixie-security serves 26.1.5+dfsg1-9+deb13u1.
download_any_version() {
  local version
  for version in $(apt-cache "${apt_opts[@]}" madison "$1" | awk -F' [|] ' '{ print $2 }'); do
    apt-get "${apt_opts[@]}" download "$1=$version" && return 0
  done
  return 1
}

fetch_binaries() {
  if binaries_ok; then
    log "dockerd $WANT_DOCKERD* and containerd $WANT_CONTAINERD* already in $ROOT"
    return
  fi
  local tmp deb package arch=$ARCHFARM_DOCKER26_ARCH
  apt_prepare
  log "apt-get download ${PACKAGES[*]} ($ARCHFARM_DOCKER26_SUITE)"
  rm -f "$CACHE/debs"/*.deb
  for package in "${PACKAGES[@]}"; do
    (cd "$CACHE/debs" && download_any_version "$package:$arch") >>"$APT_LOG" 2>&1 </dev/null \
      || _apt_fail "apt-get download $package:$arch ($ARCHFARM_DOCKER26_SUITE)"
  done
  tmp="$(mktemp -d "$CACHE/.root.XXXXXX")"
  for deb in "$CACHE/debs"/*.deb; do
    log "unpacking $(basename "$deb")"
    dpkg-deb -x "$deb" "$tmp"
  done
  rm -rf "$ROOT"
  mv "$tmp" "$ROOT" # a half-unpacked tree is never taken for a good one
  binaries_ok || die "the unpacked binaries in $ROOT are not dockerd $WANT_DOCKERD* and containerd $WANT_CONTAINERD*"
}

# The suite's apt indexes, in apt state of our own (apt_opts), updated once per run.
apt_opts=()
apt_prepare() {
  ((${#apt_opts[@]})) && return
  local mirror security arch
  mirror="$(debian_mirror)" || true
  [[ -n $mirror ]] || die "no Debian mirror for $(codename) in /etc/apt/sources.list(.d)"
  arch=$ARCHFARM_DOCKER26_ARCH
  mkdir -p "$CACHE/apt/lists/partial" "$CACHE/apt/cache/archives/partial" "$CACHE/debs"
  printf 'deb [arch=%s signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' \
    "$arch" "$mirror" "$ARCHFARM_DOCKER26_SUITE" >"$CACHE/apt/sources.list"
  security="$(debian_mirror "$(codename)-security")" || true
  if [[ -n $security ]]; then
    printf 'deb [arch=%s signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s-security main\n' \
      "$arch" "$security" "$ARCHFARM_DOCKER26_SUITE" >>"$CACHE/apt/sources.list"
  fi
  apt_opts=(
    -o "Dir::Etc::SourceList=$CACHE/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$CACHE/apt/lists" -o "Dir::Cache=$CACHE/apt/cache"
    -o APT::Sandbox::User=root # the cache dirs are root's; _apt could not write them
    -o "APT::Architectures::=$arch" # a foreign CPU's index is read only when apt knows that CPU
  )
  log "apt-get update: $mirror $ARCHFARM_DOCKER26_SUITE main${security:+ and $security $ARCHFARM_DOCKER26_SUITE-security main} ($arch), lists in $CACHE/apt"
  apt-get "${apt_opts[@]}" update >>"$APT_LOG" 2>&1 </dev/null || _apt_fail "apt-get update ($ARCHFARM_DOCKER26_SUITE)"
}

# buildx's CLI plugin from the same suite, beside dockerd 26 in $ROOT: the provenance test reads
# the farm's attestations with `docker-buildx imagetools inspect`, as users' tools do. For this
# machine's CPU only (the VM images need none), and added alone, so a running dockerd 26 and
# its binaries are left as they are.
fetch_buildx() {
  [[ $ARCHFARM_DOCKER26_ARCH == "$(dpkg --print-architecture)" ]] || return 0
  if [[ -x $ROOT/$BUILDX_PLUGIN ]]; then
    log "docker-buildx already in $ROOT"
    return
  fi
  local tmp
  apt_prepare
  log "apt-get download docker-buildx ($ARCHFARM_DOCKER26_SUITE)"
  tmp="$(mktemp -d "$CACHE/.buildx.XXXXXX")"
  (cd "$tmp" && download_any_version "docker-buildx:$ARCHFARM_DOCKER26_ARCH") >>"$APT_LOG" 2>&1 </dev/null \
    || _apt_fail "apt-get download docker-buildx ($ARCHFARM_DOCKER26_SUITE)"
  dpkg-deb -x "$tmp"/docker-buildx_*.deb "$tmp/root"
  mkdir -p "$(dirname "$ROOT/$BUILDX_PLUGIN")"
  mv "$tmp/root/$BUILDX_PLUGIN" "$ROOT/$BUILDX_PLUGIN" # whole or absent
  rm -rf "$tmp"
  "$ROOT/$BUILDX_PLUGIN" version >/dev/null || die "$ROOT/$BUILDX_PLUGIN does not run"
}

# --- The bridge ------------------------------------------------------------------

setup_bridge() {
  local br=$ARCHFARM_DOCKER26_BRIDGE cidr=$ARCHFARM_DOCKER26_BRIDGE_CIDR
  if ! ip link show "$br" >/dev/null 2>&1; then
    log "creating bridge $br ($cidr)"
    ip link add "$br" type bridge
  fi
  if ! ip -4 -o addr show dev "$br" | grep -qF " $cidr "; then
    # Another interface on the same /24 would make two routes for it.
    local other
    other="$(ip -4 -o route show "$(ipcalc_net "$cidr")" | grep -v " dev $br " || true)"
    [[ -z $other ]] || die "$cidr is already routed elsewhere ($other); set ARCHFARM_DOCKER26_BRIDGE_CIDR"
    ip addr add "$cidr" dev "$br"
  fi
  ip link set "$br" up
}

# 10.226.26.1/24 -> 10.226.26.0/24 (only /24 and wider on byte boundaries are needed here).
ipcalc_net() {
  local addr=${1%/*} len=${1#*/} IFS=.
  # shellcheck disable=SC2086 # split on dots on purpose
  set -- $addr
  case $len in
    8) echo "$1.0.0.0/8" ;; 16) echo "$1.$2.0.0/16" ;; 24) echo "$1.$2.$3.0/24" ;;
    *) die "ARCHFARM_DOCKER26_BRIDGE_CIDR must be a /8, /16 or /24 (got $len)" ;;
  esac
}

# --- containerd ------------------------------------------------------------------

containerd_answers() {
  "$ROOT/usr/bin/ctr" --address "$CONTAINERD_SOCK" --timeout 3s version >/dev/null 2>&1
}

write_containerd_config() {
  cat >"$RUN/containerd.toml" <<EOF
# Written by archfarm scripts/docker26.sh: the Docker 26 engine's own containerd.
version = 2
root = "$DATA/containerd"
state = "$RUN/containerd"
# CRI would read /etc/cni/net.d (podman's) and is not needed by dockerd.
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "$CONTAINERD_SOCK"

[ttrpc]
  address = "$RUN/containerd.sock.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$DATA/containerd-opt"
EOF
}

start_containerd() {
  if containerd_answers; then
    log "containerd already answering on $CONTAINERD_SOCK"
    return
  fi
  write_containerd_config
  log "starting containerd (socket $CONTAINERD_SOCK, log: $CONTAINERD_LOG)"
  # setsid+nohup: the daemon must outlive this script and the CI step's session. Its PATH
  # puts its own shim first (bookworm's 1.6 shim is in /usr/bin), and finds bookworm's runc.
  # 9>&-: the daemon must not hold the setup lock (the next run would wait on it forever).
  PATH=$ENGINE_PATH setsid nohup "$ROOT/usr/bin/containerd" --config "$RUN/containerd.toml" \
    >>"$CONTAINERD_LOG" 2>&1 </dev/null 9>&- &
  echo $! >"$RUN/containerd.pid"
  if ! wait_until 30 containerd containerd_answers; then
    tail -n 20 "$CONTAINERD_LOG" >&2 || true
    die "containerd did not come up (see $CONTAINERD_LOG)"
  fi
}

# --- dockerd ---------------------------------------------------------------------

# pid_alive PIDFILE BINARY: that pid runs BINARY (a stale pid file left by a killed machine
# may name a pid that another process has since been given).
pid_alive() {
  local pid
  [[ -r $1 ]] && pid="$(cat "$1")" && [[ -n $pid ]] || return 1
  [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == "$2" ]]
}

write_daemon_json() {
  # Only what has no flag below (dockerd refuses a setting given both ways). Never
  # "default-address-pools": with it, a restarted dockerd that clears its stale "bridge"
  # network also deletes the interface named docker0 (moby's removeDefaultBridgeInterface),
  # whatever --bridge says: the host dockerd's bridge. Seen here twice.
  cat >"$RUN/daemon.json" <<'EOF'
{
  "features": { "containerd-snapshotter": true },
  "cgroup-parent": "/archfarm-docker26"
}
EOF
}

start_dockerd() {
  local had_docker0=0
  if ip link show docker0 >/dev/null 2>&1; then had_docker0=1; fi
  if pid_alive "$RUN/docker.pid" "$ROOT/usr/sbin/dockerd"; then
    log "dockerd $(cat "$RUN/docker.pid") is starting; waiting for it"
  else
    write_daemon_json
    log "starting dockerd (socket unix://$SOCK, log: $DOCKERD_LOG)"
    PATH=$ENGINE_PATH setsid nohup "$ROOT/usr/sbin/dockerd" \
      --host "unix://$SOCK" \
      --data-root "$DATA/docker" \
      --exec-root "$RUN/exec" \
      --pidfile "$RUN/docker.pid" \
      --containerd "$CONTAINERD_SOCK" \
      --iptables=false --ip6tables=false \
      --bridge "$ARCHFARM_DOCKER26_BRIDGE" \
      --config-file "$RUN/daemon.json" \
      >>"$DOCKERD_LOG" 2>&1 </dev/null 9>&- &
  fi
  if ! wait_until 60 dockerd dockerd_answers; then
    tail -n 20 "$DOCKERD_LOG" >&2 || true
    die "dockerd did not come up (see $DOCKERD_LOG)"
  fi
  if ((had_docker0)) && ! ip link show docker0 >/dev/null 2>&1; then
    die "starting dockerd 26 removed the host dockerd's docker0 bridge (restart that dockerd to get it back)"
  fi
  engine_ok || die "dockerd on $SOCK answers but is not dockerd $WANT_DOCKERD* with driver-type $SNAPSHOTTER: $(api /info | jq -c '{ServerVersion, Driver, DriverStatus}')"
}

# --- --verify: a RUN step on both engines ------------------------------------------

# verify_engine NAME SOCKET: builds FROM the test base with a RUN step, through BuildKit.
verify_engine() {
  local name=$1 host=unix://$2 tag=archfarm-verify/docker26:$1 base=$ARCHFARM_REGISTRY_ADDR/archfarm/base:1 out
  # shellcheck disable=SC2016 # $(uname -m) is for the RUN step's shell
  out="$(printf 'FROM %s\nRUN echo "ran-on-$(uname -m)" >/ran\nCMD ["cat", "/ran"]\n' "$base" \
    | DOCKER_HOST=$host DOCKER_BUILDKIT=1 /usr/bin/docker build -q -t "$tag" - 2>&1)" \
    || die "verify: a RUN step fails on $name ($host): $out"
  out="$(DOCKER_HOST=$host /usr/bin/docker run --rm "$tag" 2>&1)" || die "verify: cannot run $tag on $name: $out"
  [[ $out == ran-on-x86_64 ]] || die "verify: $tag on $name printed '$out'"
  DOCKER_HOST=$host /usr/bin/docker rmi "$tag" >/dev/null
  log "verify: a RUN step works on $name ($host)"
}

main() {
  if ((FETCH_ONLY)); then
    mkdir -p "$CACHE"
    exec 9>"$CACHE/.lock"
    flock -w 300 9 || die "another scripts/docker26.sh holds $CACHE/.lock (for 300 s)"
    fetch_binaries
    fetch_buildx
    echo "$ROOT"
    return
  fi
  if engine_ok; then
    log "dockerd 26 already answering on unix://$SOCK"
    exec 9>"$CACHE/.lock"
    flock -w 300 9 || die "another scripts/docker26.sh holds $CACHE/.lock (for 300 s)"
    fetch_buildx
  else
    [[ $EUID -eq 0 ]] || die "must run as root"
    local t0=$SECONDS
    mkdir -p "$CACHE" "$RUN" "$DATA"
    # Two setups at once would race for the same sockets and cache.
    exec 9>"$CACHE/.lock"
    flock -w 300 9 || die "another scripts/docker26.sh holds $CACHE/.lock (for 300 s)"
    fetch_binaries
    fetch_buildx
    setup_bridge
    start_containerd
    start_dockerd
    log "ready in $((SECONDS - t0))s: dockerd $(api /version | jq -r .Version) ($SNAPSHOTTER) on unix://$SOCK"
  fi
  if ((VERIFY)); then
    verify_engine docker26 "$SOCK"
    verify_engine host-dockerd "$HOST_SOCK"
  fi
  echo "unix://$SOCK"
}

main "$@"
