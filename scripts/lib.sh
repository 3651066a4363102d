# shellcheck shell=bash
# Shared helpers for archfarm's host scripts (sourced, not executed).
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Callers set LOG_PREFIX (e.g. "setup") before logging.

# Let `set -e` apply inside $(...) too, so a failing step is never silently ignored.
shopt -s inherit_errexit

: "${LOG_PREFIX:=archfarm}"
# Where the project's loopback registry listens (no auth, plain HTTP).
: "${ARCHFARM_REGISTRY_ADDR:=127.0.0.1:5000}"
export DEBIAN_FRONTEND=noninteractive
# apt/dpkg chatter goes here; its tail is shown when a step fails.
APT_LOG=/var/log/archfarm-apt.log

# Progress lines go to stderr so stdout stays machine-readable.
log() { printf '%s: %s\n' "$LOG_PREFIX" "$*" >&2; }
die() { printf '%s: ERROR: %s\n' "$LOG_PREFIX" "$*" >&2; exit 1; }

# True when a dpkg package (optionally NAME:ARCH) is fully installed.
pkg_installed() {
  [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]
}

_apt_fail() {
  tail -n 15 "$APT_LOG" >&2 || true
  die "$1 failed (full log: $APT_LOG)"
}

# apt-get update at most once per script run, and only when needed.
# A partial failure is only a warning: the mirror here has been seen serving a
# stale bookworm-security index for some foreign arches while everything we need
# (bookworm main) was fine. A package really missing fails later, clearly.
_APT_UPDATED=0
apt_update_once() {
  ((_APT_UPDATED)) && return 0
  _APT_UPDATED=1
  log "apt-get update"
  local out rc=0
  out="$(apt-get update 2>&1)" || rc=$?
  printf '%s\n' "$out" >>"$APT_LOG"
  if ((rc)); then
    log "warning: apt-get update exited $rc; continuing with the indexes it got:"
    grep -E '^(E|Err):' <<<"$out" | cut -c1-160 | sed 's/^/  /' >&2 || true
  fi
}

# While installing, keep package maintainer scripts from starting services:
# docker.io and docker-registry ship init scripts, and the registry's packaged
# config (htpasswd auth on :5000) would take the port we want for ours.
# Only adds a policy-rc.d when the machine has none, and removes it afterwards.
_with_services_blocked() {
  local policy=/usr/sbin/policy-rc.d added=0 rc=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && added=1
  fi
  "$@" || rc=$?
  if ((added)); then rm -f "$policy"; fi
  return "$rc"
}

# Install whichever of the given packages are missing (one apt transaction).
ensure_packages() {
  local p missing=()
  for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
  ((${#missing[@]})) || return 0
  apt_update_once
  log "installing ${missing[*]}"
  _with_services_blocked apt-get install -y --no-install-recommends "${missing[@]}" \
    >>"$APT_LOG" 2>&1 </dev/null || _apt_fail "apt-get install ${missing[*]}"
}

# HTTP status of a URL ("000" when nothing answers).
http_code() {
  curl -s -o /dev/null -m 5 -w '%{http_code}' "$@" 2>/dev/null || true
}

# wait_until SECONDS DESCRIPTION COMMAND...: poll COMMAND every 0.5 s.
wait_until() {
  local secs=$1 what=$2 i
  shift 2
  for ((i = 0; i < secs * 2; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  log "timed out after ${secs}s waiting for $what"
  return 1
}
