#!/usr/bin/env bash
# Install an archfarm agent as a systemd service and enrol it with a coordinator.
# For Debian 12 / Raspberry Pi OS (arm64, armhf) and RHEL 8/9 on s390x (Docker or Podman).
#
#   sudo bash install-agent.sh --from archfarm-agent-0.1.0.tgz|archfarm-agent.js \
#       --coordinator build.lan:7420 --join-token afj_... --ca-fingerprint sha256:... \
#       [--name pi-1] [--docker-host unix:///run/podman/podman.sock] \
#       [--platforms linux/arm64,linux/arm/v7]
#
# --platforms narrows what the agent serves (default: its engine's own platform and whatever
# it can emulate).
# What it does: checks Node.js >= 18 and an engine socket, creates the system user
# `archfarm` (member of the group that owns the engine socket), installs the agent under
# /opt/archfarm/agent, writes /etc/archfarm/agent.env, runs the agent once as that user so
# it enrols (its key and certificate land in /var/lib/archfarm-agent/tls), then installs and
# starts archfarm-agent.service. Running it again upgrades the agent and keeps the enrolment.
set -euo pipefail
shopt -s inherit_errexit

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PREFIX=/opt/archfarm/agent
BIN="$PREFIX/archfarm-agent.js"
STATE_DIR=/var/lib/archfarm-agent
ENV_FILE=/etc/archfarm/agent.env
UNIT_SRC="$HERE/systemd/archfarm-agent.service"
UNIT_DST=/etc/systemd/system/archfarm-agent.service
SVC_USER=archfarm
ENGINE_GROUP=docker # the unit's SupplementaryGroups=
NODE_MIN=18
# Seconds; a slow board (or an emulated VM) needs most of a minute just to start Node.js and make a key.
ENROL_TIMEOUT=300

FROM="" COORDINATOR="" JOIN_TOKEN="${ARCHFARM_JOIN_TOKEN:-}" CA_FINGERPRINT="" NAME="" DOCKER_HOST_URL="" PLATFORMS=""

log() { printf 'install-agent: %s\n' "$*" >&2; }
die() { printf 'install-agent: ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

parse_args() {
  while (($#)); do
    case "$1" in
      --from) FROM="${2:?--from needs a path}"; shift 2 ;;
      --coordinator) COORDINATOR="${2:?--coordinator needs host:port}"; shift 2 ;;
      --join-token) JOIN_TOKEN="${2:?--join-token needs a token}"; shift 2 ;;
      --ca-fingerprint) CA_FINGERPRINT="${2:?--ca-fingerprint needs sha256:...}"; shift 2 ;;
      --name) NAME="${2:?--name needs a name}"; shift 2 ;;
      --docker-host) DOCKER_HOST_URL="${2:?--docker-host needs a URL}"; shift 2 ;;
      --platforms) PLATFORMS="${2:?--platforms needs a list, e.g. linux/arm64,linux/arm/v7}"; shift 2 ;;
      -h | --help) usage 0 ;;
      *) printf 'install-agent: unknown argument %s\n' "$1" >&2; usage 2 ;;
    esac
  done
  [[ -n $FROM ]] || die "--from is required: the agent's npm tarball (.tgz) or single-file bundle (.js)"
  [[ -r $FROM ]] || die "--from $FROM: no such readable file"
  [[ -n $COORDINATOR ]] || die "--coordinator host:port is required"
  [[ $CA_FINGERPRINT =~ ^sha256:[0-9a-f]{64}$ ]] \
    || die "--ca-fingerprint must look like sha256:<64 hex digits> (the coordinator logs it as caFingerprint)"
  [[ -n $NAME ]] || NAME="$(hostname)"
  # The unit passes --name %H (the host name); another name would enrol one agent and run another.
  [[ $NAME == "$(hostname)" ]] \
    || die "--name $NAME differs from the host name $(hostname); the unit runs with --name %H"
  [[ -f $UNIT_SRC ]] || die "missing $UNIT_SRC (run this script from the deploy/ directory it ships in)"
}

distro_hint() {
  local id="" like=""
  if [[ -r /etc/os-release ]]; then
    # shellcheck source=/dev/null
    id="$(. /etc/os-release && echo "${ID:-}")"
    # shellcheck source=/dev/null
    like="$(. /etc/os-release && echo "${ID_LIKE:-}")"
  fi
  case " $id $like " in
    *" debian "* | *" raspbian "*) echo debian ;;
    *" rhel "* | *" fedora "* | *" centos "*) echo rhel ;;
    *) echo other ;;
  esac
}

check_node() {
  local hint
  case "$(distro_hint)" in
    debian) hint="apt-get install -y nodejs (Debian 12 and Raspberry Pi OS ship Node.js 18)" ;;
    rhel) hint="on RHEL 8/9 (s390x too): dnf module enable -y nodejs:18 && dnf install -y nodejs" ;;
    *) hint="install Node.js $NODE_MIN or newer from https://nodejs.org/" ;;
  esac
  command -v node >/dev/null || die "Node.js not found on PATH; $hint"
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  ((major >= NODE_MIN)) || die "Node.js $(node --version) is too old (need >= $NODE_MIN); $hint"
  # The unit starts node through /usr/bin/env with systemd's PATH, which has no ~/ or nvm dirs.
  case "$(command -v node)" in
    /usr/bin/node | /usr/local/bin/node | /bin/node) ;;
    *) die "node is at $(command -v node), which systemd will not find; install it to /usr/bin or /usr/local/bin" ;;
  esac
  log "Node.js $(node --version) ($(node -p process.arch))"
}

# Picks the engine socket: --docker-host, else Docker's, else Podman's (enabling podman.socket).
check_engine() {
  if [[ -z $DOCKER_HOST_URL ]]; then
    if [[ -S /var/run/docker.sock ]]; then
      DOCKER_HOST_URL=unix:///var/run/docker.sock
    elif command -v podman >/dev/null; then
      setup_podman_socket
      DOCKER_HOST_URL=unix:///run/podman/podman.sock
    else
      case "$(distro_hint)" in
        debian) die "no engine: install Docker (apt-get install -y docker.io) or Podman (apt-get install -y podman), then run this again" ;;
        rhel) die "no engine: install Podman (dnf install -y podman), then run this again; it enables podman.socket itself" ;;
        *) die "no engine: install Docker or Podman, then run this again" ;;
      esac
    fi
  fi
  local sock="${DOCKER_HOST_URL#unix://}"
  [[ $DOCKER_HOST_URL == unix://* ]] || die "--docker-host must be a unix:// socket for a systemd install (got $DOCKER_HOST_URL)"
  [[ -S $sock ]] || die "engine socket $sock does not exist (is the engine running? systemctl status docker / podman.socket)"
  engine_ping "$sock" || die "engine socket $sock does not answer /_ping"
  ENGINE_GROUP_OF_SOCKET="$(stat -c %G "$sock")"
  log "engine at $DOCKER_HOST_URL (socket group $ENGINE_GROUP_OF_SOCKET)"
}

# GET /_ping over the socket with node (checked already), not curl: minimal images lack curl.
engine_ping() {
  node -e '
    const req = require("http").get({ socketPath: process.argv[1], path: "/_ping", timeout: 5000 },
      (res) => process.exit(res.statusCode === 200 ? 0 : 1));
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => process.exit(1));' "$1"
}

# Podman's API socket is root:root 0660 by default; give the `docker` group access to it.
setup_podman_socket() {
  log "using Podman: enabling podman.socket with group $ENGINE_GROUP"
  getent group "$ENGINE_GROUP" >/dev/null || groupadd --system "$ENGINE_GROUP"
  mkdir -p /etc/systemd/system/podman.socket.d
  printf '[Socket]\nSocketGroup=%s\nSocketMode=0660\n' "$ENGINE_GROUP" \
    >/etc/systemd/system/podman.socket.d/archfarm.conf
  systemctl daemon-reload
  systemctl enable podman.socket >/dev/null
  systemctl restart podman.socket
}

create_user() {
  getent group "$ENGINE_GROUP" >/dev/null || groupadd --system "$ENGINE_GROUP"
  [[ $ENGINE_GROUP_OF_SOCKET == "$ENGINE_GROUP" ]] \
    || die "the engine socket belongs to group $ENGINE_GROUP_OF_SOCKET, but the unit grants only $ENGINE_GROUP; make the socket group $ENGINE_GROUP"
  if ! id "$SVC_USER" >/dev/null 2>&1; then
    log "creating system user $SVC_USER"
    useradd --system --user-group --home-dir "$STATE_DIR" --no-create-home \
      --shell /usr/sbin/nologin "$SVC_USER"
  fi
  usermod -a -G "$ENGINE_GROUP" "$SVC_USER"
  install -d -o "$SVC_USER" -g "$SVC_USER" -m 0700 "$STATE_DIR"
}

# A .tgz is an npm package (installed with its dependencies under $PREFIX/lib);
# a .js is the single-file bundle. Either way the unit runs $BIN.
install_agent() {
  install -d -m 0755 "$PREFIX"
  case "$FROM" in
    *.tgz | *.tar.gz)
      command -v npm >/dev/null || die "npm is needed to install $FROM (it comes with Node.js; Debian: apt-get install -y npm)"
      local pkg bin
      pkg="$(tar -xzOf "$FROM" package/package.json | node -p 'JSON.parse(require("fs").readFileSync(0, "utf8")).name')"
      log "installing npm package $pkg from $FROM"
      npm install --prefix "$PREFIX/lib" --omit=dev --no-audit --no-fund "$(realpath "$FROM")" >&2
      bin="$(node -p "const p=require('$PREFIX/lib/node_modules/$pkg/package.json'); typeof p.bin === 'string' ? p.bin : p.bin['archfarm-agent']")"
      ln -sfn "$PREFIX/lib/node_modules/$pkg/$bin" "$BIN"
      ;;
    *.js | *.cjs)
      log "installing bundle $FROM"
      install -m 0755 "$FROM" "$BIN"
      ;;
    *) die "--from $FROM: expected an npm tarball (.tgz) or the single-file bundle (.js)" ;;
  esac
  log "agent $(node "$BIN" --version) at $BIN"
}

write_env() {
  install -d -m 0755 /etc/archfarm
  umask 022
  cat >"$ENV_FILE" <<EOF
# archfarm-agent.service settings (written by install-agent.sh).
ARCHFARM_COORDINATOR=$COORDINATOR
ARCHFARM_DOCKER_HOST=$DOCKER_HOST_URL
ARCHFARM_PLATFORMS=$PLATFORMS
EOF
  log "wrote $ENV_FILE"
}

# The agent enrols on its first start; run it once as the service user until its
# certificate is on disk, then stop it. The token goes by environment, not argv (ps shows argv).
enrol() {
  if [[ -s $STATE_DIR/tls/cert.pem ]]; then
    log "already enrolled ($STATE_DIR/tls/cert.pem); keeping it"
    return
  fi
  [[ -n $JOIN_TOKEN ]] || die "not enrolled yet: give --join-token (archfarm tokens create) or ARCHFARM_JOIN_TOKEN"
  local out pid i
  out="$(mktemp)"
  log "enrolling with $COORDINATOR as $NAME"
  (cd "$STATE_DIR" && exec setpriv --reuid="$SVC_USER" --regid="$SVC_USER" --init-groups \
    env ARCHFARM_JOIN_TOKEN="$JOIN_TOKEN" node "$BIN" --coordinator "$COORDINATOR" --name "$NAME" \
    --state-dir "$STATE_DIR" --docker-host "$DOCKER_HOST_URL" --ca-fingerprint "$CA_FINGERPRINT" \
    ${PLATFORMS:+--platforms "$PLATFORMS"}) \
    >"$out" 2>&1 &
  pid=$!
  for ((i = 0; i < ENROL_TIMEOUT * 2; i++)); do
    [[ -s $STATE_DIR/tls/cert.pem ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [[ ! -s $STATE_DIR/tls/cert.pem ]]; then
    tail -n 20 "$out" >&2
    rm -f "$out"
    die "enrolment failed (agent output above)"
  fi
  rm -f "$out"
  log "enrolled"
}

install_unit() {
  install -m 0644 "$UNIT_SRC" "$UNIT_DST"
  systemctl daemon-reload
  systemctl enable archfarm-agent.service >/dev/null
  systemctl restart archfarm-agent.service
  log "archfarm-agent.service enabled and started; logs: journalctl -u archfarm-agent -f"
}

main() {
  parse_args "$@"
  [[ $EUID -eq 0 ]] || die "must run as root (sudo)"
  command -v systemctl >/dev/null || die "systemd is required (systemctl not found)"
  check_node
  check_engine
  create_user
  install_agent
  write_env
  enrol
  install_unit
}

main "$@"
