#!/usr/bin/env bash
# Build archfarm's minimal multi-platform test base image from Debian's
# busybox-static packages and push it as one OCI image index:
#
#   $ARCHFARM_REGISTRY_ADDR/archfarm/base:1   (default 127.0.0.1:5000)
#   platforms: linux/amd64 linux/arm64/v8 linux/arm/v7 linux/s390x linux/ppc64le
#
# The OCI layout (layers, configs, manifests, index) is written by hand rather
# than with `docker import`, because dockerd 20.10 ignores --platform there and
# labels everything amd64. Layers are reproducible (sorted, mtime 0, uid 0, gzip -n),
# so the same busybox packages always give the same digests.
#
# Usage: scripts/test-base.sh [--verify] [--force]
#   --verify  also run `uname -m` in a container of every platform and build an
#             s390x image FROM it through dockerd's BuildKit (needs host-setup.sh)
#   --force   rebuild and push even if the registry already has the image
# Prints the image reference as the last line of stdout. Needs the registry of
# scripts/host-setup.sh running.
set -euo pipefail

LOG_PREFIX=base
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$HERE/lib.sh"
# shellcheck source=scripts/oci-lib.sh
source "$HERE/oci-lib.sh"

REPO=archfarm/base
TAG=1
REF="$ARCHFARM_REGISTRY_ADDR/$REPO:$TAG"
CACHE_DIR=/var/cache/archfarm/busybox
# Bump when the image recipe below changes, so existing registries get the new image.
RECIPE=1
RECIPE_KEY=org.archfarm.base.recipe
IMAGE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# Debian arch | OCI architecture | OCI variant | `uname -m` inside
PLATFORMS=(
  "amd64|amd64||x86_64"
  "arm64|arm64|v8|aarch64"
  "armhf|arm|v7|armv7l"
  "s390x|s390x||s390x"
  "ppc64el|ppc64le||ppc64le"
)
# Used only if the arch's own busybox cannot run here (no binfmt/QEMU).
FALLBACK_APPLETS=(
  '[' '[[' awk basename cat chmod chown cp cut date dd df dirname du echo env
  expr false find grep gunzip gzip head hostname id kill ln ls md5sum mkdir
  mktemp mv nproc printf ps pwd readlink rm rmdir sed seq sh sha1sum sha256sum
  sleep sort stat tail tar tee test touch tr true uname uniq wc wget which
  whoami xargs yes
)

VERIFY=0
FORCE=0
for arg in "$@"; do
  case "$arg" in
    --verify) VERIFY=1 ;;
    --force) FORCE=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $arg (try --help)" ;;
  esac
done

expected_platforms() {
  local p
  for p in "${PLATFORMS[@]}"; do
    platform_string "$(field 2 "$p")" "$(field 3 "$p")"
    echo
  done | sort
}

# --- Registry state ----------------------------------------------------------

remote_index() {
  skopeo inspect --raw --tls-verify=false "docker://$REF" 2>/dev/null
}

# True when the tag is an OCI index of exactly our platforms and recipe.
already_pushed() {
  local raw have
  raw="$(remote_index)" || return 1
  have="$(jq -r --arg k "$RECIPE_KEY" --arg mt "$MT_INDEX" '
      select(.mediaType == $mt and .annotations[$k] == "'"$RECIPE"'")
      | .manifests[].platform | [.os, .architecture, .variant // empty] | join("/")' \
      <<<"$raw" 2>/dev/null | sort)" || return 1
  [[ "$have" == "$(expected_platforms)" ]]
}

# --- Fetching busybox --------------------------------------------------------

cached_deb() { # newest cached busybox-static .deb for a Debian arch, if any
  local debs=("$CACHE_DIR"/busybox-static_*_"$1".deb)
  [[ -e "${debs[0]}" ]] || return 1
  printf '%s\n' "${debs[@]}" | sort -V | tail -n 1
}

# Foreign architectures must be known to apt before `apt-get download pkg:ARCH`;
# apt-get update only when one was added or apt has no index for one yet.
ensure_apt_arches() {
  local native foreign p a need_update=0
  native="$(dpkg --print-architecture)"
  foreign=" $(dpkg --print-foreign-architectures | tr '\n' ' ') "
  for p in "${PLATFORMS[@]}"; do
    a="$(field 1 "$p")"
    if [[ $a != "$native" && $foreign != *" $a "* ]]; then
      log "dpkg --add-architecture $a"
      dpkg --add-architecture "$a"
      need_update=1
    elif ! apt-cache show "busybox-static:$a" >/dev/null 2>&1; then
      need_update=1
    fi
  done
  if ((need_update)); then apt_update_once; fi
}

fetch_busybox_debs() {
  local p a missing=()
  for p in "${PLATFORMS[@]}"; do
    a="$(field 1 "$p")"
    cached_deb "$a" >/dev/null || missing+=("busybox-static:$a")
  done
  ((${#missing[@]})) || return 0
  ensure_apt_arches
  mkdir -p "$CACHE_DIR"
  log "downloading ${missing[*]} into $CACHE_DIR"
  # Sandbox::User=root: the cache dir is root's; avoids apt's _apt sandbox warning.
  (cd "$CACHE_DIR" && apt-get download -o APT::Sandbox::User=root "${missing[@]}") \
    >>"$APT_LOG" 2>&1 || _apt_fail "apt-get download ${missing[*]}"
}

# --- Building the OCI layout -------------------------------------------------

make_rootfs() { # make_rootfs DEB ROOT
  local deb=$1 root=$2 x="$WORK/x" applets a
  rm -rf "$x" && dpkg-deb -x "$deb" "$x"
  mkdir -p "$root"/{bin,etc,root,tmp,usr/bin}
  install -m 0755 "$x/bin/busybox" "$root/bin/busybox"
  # The arch's own applet list; runs foreign binaries through binfmt/QEMU.
  if applets="$("$root/bin/busybox" --list 2>/dev/null)" && [[ -n "$applets" ]]; then
    :
  else
    log "warning: cannot run $(basename "$deb")'s busybox here; using a fixed applet list"
    applets="$(printf '%s\n' "${FALLBACK_APPLETS[@]}")"
  fi
  while IFS= read -r a; do
    [[ -n "$a" && "$a" != busybox && ! -e "$root/bin/$a" ]] && ln -s busybox "$root/bin/$a"
  done <<<"$applets"
  ln -s /bin/busybox "$root/usr/bin/env" # for `#!/usr/bin/env sh` scripts
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
    >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  # Explicit modes: the layer must not depend on the caller's umask.
  chmod 0755 "$root" "$root"/{bin,etc,usr,usr/bin}
  chmod 0644 "$root"/etc/{passwd,group}
  chmod 0700 "$root/root"
  chmod 1777 "$root/tmp"
}

# build_platform "DEBARCH|ARCH|VARIANT|UNAME": writes layer, config and manifest
# blobs; appends the manifest's descriptor (with platform) to DESCRIPTORS.
build_platform() {
  local debarch arch variant deb root layer diff_id layer_digest layer_size \
    config_digest config_size manifest
  debarch="$(field 1 "$1")" arch="$(field 2 "$1")" variant="$(field 3 "$1")"
  deb="$(cached_deb "$debarch")" || die "no busybox-static .deb for $debarch in $CACHE_DIR"
  root="$WORK/rootfs-$debarch"
  make_rootfs "$deb" "$root"

  # Reproducible layer: same files -> same bytes -> same digests.
  layer="$WORK/layer.tar"
  tar -C "$root" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
    --format=gnu -cf "$layer" bin etc root tmp usr
  diff_id="sha256:$(sha256sum "$layer" | cut -d' ' -f1)"
  gzip -n -9 "$layer"
  put_blob "$layer.gz"
  layer_digest=$BLOB_DIGEST layer_size=$BLOB_SIZE

  put_json "$(jq -cn \
    --arg arch "$arch" --arg variant "$variant" --arg created "$EPOCH_ISO" \
    --arg path "PATH=$IMAGE_PATH" --arg diff "$diff_id" \
    --arg by "archfarm scripts/test-base.sh: $(basename "$deb")" '
    {created: $created, architecture: $arch}
    + (if $variant == "" then {} else {variant: $variant} end)
    + {os: "linux",
       config: {Env: [$path], Cmd: ["sh"], WorkingDir: "/"},
       rootfs: {type: "layers", diff_ids: [$diff]},
       history: [{created: $created, created_by: $by}]}')"
  config_digest=$BLOB_DIGEST config_size=$BLOB_SIZE

  manifest="$(jq -cn --arg cmt "$MT_CONFIG" --arg cd "$config_digest" --argjson cs "$config_size" \
    --arg lmt "$MT_LAYER" --arg ld "$layer_digest" --argjson ls "$layer_size" --arg mt "$MT_MANIFEST" '
    {schemaVersion: 2, mediaType: $mt,
     config: {mediaType: $cmt, digest: $cd, size: $cs},
     layers: [{mediaType: $lmt, digest: $ld, size: $ls}]}')"
  put_json "$manifest"

  DESCRIPTORS+=("$(jq -cn --arg mt "$MT_MANIFEST" --arg d "$BLOB_DIGEST" --argjson s "$BLOB_SIZE" \
    --arg arch "$arch" --arg variant "$variant" '
    {mediaType: $mt, digest: $d, size: $s,
     platform: ({architecture: $arch, os: "linux"}
                + (if $variant == "" then {} else {variant: $variant} end))}')")
  log "built $(platform_string "$arch" "$variant") ($BLOB_DIGEST)"
}

# Writes the OCI layout: one nested image index tagged "$TAG".
build_layout() {
  local p index
  DESCRIPTORS=()
  mkdir -p "$LAYOUT/blobs/sha256"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$LAYOUT/oci-layout"
  for p in "${PLATFORMS[@]}"; do
    build_platform "$p"
  done
  index="$(printf '%s\n' "${DESCRIPTORS[@]}" | jq -cs --arg mt "$MT_INDEX" \
    --arg k "$RECIPE_KEY" --arg r "$RECIPE" \
    '{schemaVersion: 2, mediaType: $mt, manifests: ., annotations: {($k): $r}}')"
  put_json "$index"
  INDEX_DIGEST=$BLOB_DIGEST
  jq -cn --arg mt "$MT_INDEX" --arg d "$BLOB_DIGEST" --argjson s "$BLOB_SIZE" --arg tag "$TAG" \
    '{schemaVersion: 2, manifests: [{mediaType: $mt, digest: $d, size: $s,
      annotations: {"org.opencontainers.image.ref.name": $tag}}]}' >"$LAYOUT/index.json"
}

push_layout() {
  log "pushing $REF"
  # --all: every platform, not just the host's; --preserve-digests: fail rather
  # than silently rewrite (e.g. convert) the manifests we wrote.
  skopeo copy --quiet --all --preserve-digests --dest-tls-verify=false \
    "oci:$LAYOUT:$TAG" "docker://$REF" >&2 || die "skopeo copy to $REF failed"
  local pushed
  pushed="sha256:$(remote_index | sha256sum | cut -d' ' -f1)"
  [[ "$pushed" == "$INDEX_DIGEST" ]] || die "registry has $pushed for $REF, expected $INDEX_DIGEST"
  already_pushed || die "$REF is not an index of: $(expected_platforms | tr '\n' ' ')"
  log "pushed $REF@$INDEX_DIGEST"
}

# --- Optional verification with the Docker engine ----------------------------

verify_run() {
  local p platform want got
  for p in "${PLATFORMS[@]}"; do
    platform="$(platform_string "$(field 2 "$p")" "$(field 3 "$p")")"
    want="$(field 4 "$p")"
    # Explicit pull: dockerd 20.10 keeps one image per tag, so this re-selects
    # the platform from the index each time.
    docker pull -q --platform "$platform" "$REF" >/dev/null || die "docker pull --platform $platform failed"
    got="$(docker run --rm --platform "$platform" "$REF" uname -m)" || die "docker run --platform $platform failed"
    [[ "$got" == "$want" ]] || die "$platform: uname -m printed '$got', expected '$want'"
    log "verify: docker run --platform $platform -> $got"
  done
}

# BuildKit (inside dockerd) building FROM our image for s390x, through the
# Engine API, as archfarm's agent does; no CLI/buildx needed.
verify_buildkit() {
  local ctx="$WORK/ctx" tag=archfarm-probe:base-s390x out got
  mkdir -p "$ctx"
  # shellcheck disable=SC2016 # $(cat /arch) is for the RUN step's shell
  printf 'FROM %s\nRUN uname -m | tee /arch && test "$(cat /arch)" = s390x\n' "$REF" >"$ctx/Dockerfile"
  tar -C "$ctx" -cf "$WORK/ctx.tar" Dockerfile
  out="$(curl -sS --unix-socket /var/run/docker.sock -X POST \
    -H 'Content-Type: application/x-tar' --data-binary "@$WORK/ctx.tar" \
    "http://docker/v1.41/build?version=2&platform=linux/s390x&t=$tag&nocache=1")" \
    || die "BuildKit build request failed"
  if jq -e 'select(.error != null)' <<<"$out" >/dev/null 2>&1; then
    die "BuildKit build failed: $(jq -r 'select(.error != null) | .error' <<<"$out")"
  fi
  got="$(docker image inspect "$tag" --format '{{.Os}}/{{.Architecture}}')" || die "BuildKit produced no image $tag"
  [[ "$got" == linux/s390x ]] || die "BuildKit image is $got, expected linux/s390x"
  got="$(docker run --rm --platform linux/s390x "$tag" cat /arch)"
  [[ "$got" == s390x ]] || die "BuildKit RUN step saw uname -m '$got'"
  docker image rm -f "$tag" >/dev/null
  log "verify: BuildKit build --platform linux/s390x FROM $REF -> $got"
}

main() {
  local t0=$SECONDS
  ensure_packages skopeo jq curl
  [[ "$(http_code "http://$ARCHFARM_REGISTRY_ADDR/v2/")" == 200 ]] \
    || die "no registry answers on http://$ARCHFARM_REGISTRY_ADDR/v2/ (run scripts/host-setup.sh)"

  WORK="$(mktemp -d /tmp/archfarm-base.XXXXXX)"
  trap 'rm -rf "$WORK"' EXIT
  LAYOUT="$WORK/layout"

  if ((!FORCE)) && already_pushed; then
    log "$REF already has $(expected_platforms | tr '\n' ' ')(recipe $RECIPE); skipping build"
  else
    fetch_busybox_debs
    build_layout
    push_layout
  fi
  if ((VERIFY)); then
    verify_run
    verify_buildkit
  fi
  log "done in $((SECONDS - t0))s"
  echo "$REF"
}

main
