#!/usr/bin/env bash
# Push a stand-in for the official Node.js base image to the loopback registry, so the
# images in deploy/images build here without Docker Hub:
#
#   $ARCHFARM_REGISTRY_ADDR/archfarm/node:20   (default 127.0.0.1:5000)
#   platforms: linux/amd64 linux/arm64/v8 linux/arm/v7 linux/s390x
#
# Each platform is archfarm/base:1 (scripts/test-base.sh: busybox) plus one layer with
# npm's real node-linux-<arch> binary in /usr/local/bin (as in node:20-bookworm-slim)
# and the C/C++ runtime it links, taken from that architecture's Debian multiarch
# packages (scripts/foreign-node.sh fetches both). Like test-base.sh it writes the
# configs and manifests itself, so every platform's config names its own CPU.
#
# Usage: scripts/node-base.sh [--force]
#   --force   rebuild and push even if the registry already has this recipe
# Prints the image reference as the last line of stdout. Needs host-setup.sh's registry
# and QEMU, and test-base.sh's image.
set -euo pipefail

LOG_PREFIX=node-base
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$HERE/lib.sh"
# shellcheck source=scripts/oci-lib.sh
source "$HERE/oci-lib.sh"

: "${ARCHFARM_FOREIGN_NODE_VERSION:=20.11.0}"
NODE_VERSION=$ARCHFARM_FOREIGN_NODE_VERSION
REF="$ARCHFARM_REGISTRY_ADDR/archfarm/node:20"
BASE_REF="$ARCHFARM_REGISTRY_ADDR/archfarm/base:1"
# Bump when the recipe below changes, so existing registries get the new image.
RECIPE=1
# The index records recipe, Node.js version and base index digest; any change rebuilds.
ANNOTATION_PREFIX=org.archfarm.node-base
IMAGE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# node-linux-<arch> | Debian arch | OCI architecture | OCI variant (as in archfarm/base:1)
PLATFORMS=(
  "x64|amd64|amd64|"
  "arm64|arm64|arm64|v8"
  "armv7l|armhf|arm|v7"
  "s390x|s390x|s390x|"
)

FORCE=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $arg (try --help)" ;;
  esac
done

expected_platforms() {
  local p
  for p in "${PLATFORMS[@]}"; do
    platform_string "$(field 3 "$p")" "$(field 4 "$p")"
    echo
  done | sort
}

# What the index's annotations must say for the pushed image to be current.
wanted_annotations() {
  local base_digest
  base_digest="sha256:$(skopeo inspect --raw --tls-verify=false "docker://$BASE_REF" | sha256sum | cut -d' ' -f1)"
  jq -cn --arg p "$ANNOTATION_PREFIX" --arg r "$RECIPE" --arg n "$NODE_VERSION" --arg b "$base_digest" \
    '{($p + ".recipe"): $r, ($p + ".node"): $n, ($p + ".base"): $b}'
}

already_pushed() {
  local raw have
  raw="$(skopeo inspect --raw --tls-verify=false "docker://$REF" 2>/dev/null)" || return 1
  have="$(jq -r --argjson want "$WANTED" --arg mt "$MT_INDEX" '
      select(.mediaType == $mt and .annotations == $want)
      | .manifests[].platform | [.os, .architecture, .variant // empty] | join("/")' \
      <<<"$raw" 2>/dev/null | sort)" || return 1
  [[ "$have" == "$(expected_platforms)" ]]
}

# The shared libraries (and their symlinks and loader) of Debian packages, copied into
# ROOT at their own paths. Docs, gconv modules and the like stay out.
copy_runtime_libs() { # copy_runtime_libs ROOT PKG:ARCH...
  local root=$1 f
  shift
  while IFS= read -r f; do
    [[ ! -d $f ]] || continue
    cp -P --parents "$f" "$root"
  done < <(dpkg -L "$@" | grep -E '^/(usr/)?lib(64)?/' | grep -v '/gconv/' | grep -E '\.so(\.[0-9.]+)?$' | sort -u)
}

# build_platform "NODEARCH|DEBARCH|ARCH|VARIANT": the base's layers plus a Node.js layer.
# Appends the manifest's descriptor to DESCRIPTORS.
build_platform() {
  local node_arch debarch arch variant node_bin root libs base_manifest base_config by
  node_arch="$(field 1 "$1")" debarch="$(field 2 "$1")" arch="$(field 3 "$1")" variant="$(field 4 "$1")"
  node_bin="$(bash "$HERE/foreign-node.sh" "$node_arch")" || die "scripts/foreign-node.sh $node_arch failed"

  root="$WORK/rootfs-$debarch"
  mkdir -p "$root/usr/local/bin"
  install -m 0755 "$node_bin" "$root/usr/local/bin/node"
  libs=("libc6:$debarch" "libstdc++6:$debarch" "libgcc-s1:$debarch")
  [[ $debarch == armhf ]] && libs+=("libatomic1:$debarch")
  copy_runtime_libs "$root" "${libs[@]}"
  find "$root" -type d -exec chmod 0755 {} +
  put_layer "$root"
  local layer_digest=$BLOB_DIGEST layer_size=$BLOB_SIZE

  base_manifest="$(jq -r --arg a "$arch" --arg v "$variant" '
      .manifests[] | select(.platform.architecture == $a and (.platform.variant // "") == $v) | .digest' \
      "$(blob_path "$BASE_INDEX")")"
  [[ -n $base_manifest ]] || die "$BASE_REF has no $(platform_string "$arch" "$variant")"
  base_config="$(jq -r .config.digest "$(blob_path "$base_manifest")")"

  by="archfarm scripts/node-base.sh: node-linux-$node_arch@$NODE_VERSION, ${libs[*]}"
  put_json "$(jq -c --arg diff "$LAYER_DIFF_ID" --arg by "$by" --arg created "$EPOCH_ISO" \
    --arg path "PATH=$IMAGE_PATH" --arg nv "NODE_VERSION=$NODE_VERSION" '
    .rootfs.diff_ids += [$diff]
    | .history += [{created: $created, created_by: $by}]
    | .config.Env = [$path, $nv] | .config.Cmd = ["node"]' "$(blob_path "$base_config")")"
  local config_digest=$BLOB_DIGEST config_size=$BLOB_SIZE

  put_json "$(jq -c --arg cd "$config_digest" --argjson cs "$config_size" \
    --arg lmt "$MT_LAYER" --arg ld "$layer_digest" --argjson ls "$layer_size" '
    .config.digest = $cd | .config.size = $cs
    | .layers += [{mediaType: $lmt, digest: $ld, size: $ls}]' "$(blob_path "$base_manifest")")"

  DESCRIPTORS+=("$(jq -cn --arg mt "$MT_MANIFEST" --arg d "$BLOB_DIGEST" --argjson s "$BLOB_SIZE" \
    --arg arch "$arch" --arg variant "$variant" '
    {mediaType: $mt, digest: $d, size: $s,
     platform: ({architecture: $arch, os: "linux"}
                + (if $variant == "" then {} else {variant: $variant} end))}')")
  log "built $(platform_string "$arch" "$variant") ($BLOB_DIGEST)"
}

build_layout() {
  local p index
  # The base's blobs (busybox layers, configs, manifests) become this layout's.
  skopeo copy --quiet --all --preserve-digests --src-tls-verify=false \
    "docker://$BASE_REF" "oci:$LAYOUT:base" >&2 || die "skopeo copy $BASE_REF failed"
  BASE_INDEX="$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "base") | .digest' \
    "$LAYOUT/index.json")"
  DESCRIPTORS=()
  for p in "${PLATFORMS[@]}"; do
    build_platform "$p"
  done
  index="$(printf '%s\n' "${DESCRIPTORS[@]}" | jq -cs --arg mt "$MT_INDEX" --argjson a "$WANTED" \
    '{schemaVersion: 2, mediaType: $mt, manifests: ., annotations: $a}')"
  put_json "$index"
  INDEX_DIGEST=$BLOB_DIGEST
  jq -cn --arg mt "$MT_INDEX" --arg d "$BLOB_DIGEST" --argjson s "$BLOB_SIZE" \
    '{schemaVersion: 2, manifests: [{mediaType: $mt, digest: $d, size: $s,
      annotations: {"org.opencontainers.image.ref.name": "node"}}]}' >"$LAYOUT/index.json"
}

push_layout() {
  log "pushing $REF"
  skopeo copy --quiet --all --preserve-digests --dest-tls-verify=false \
    "oci:$LAYOUT:node" "docker://$REF" >&2 || die "skopeo copy to $REF failed"
  local pushed
  pushed="sha256:$(skopeo inspect --raw --tls-verify=false "docker://$REF" | sha256sum | cut -d' ' -f1)"
  [[ "$pushed" == "$INDEX_DIGEST" ]] || die "registry has $pushed for $REF, expected $INDEX_DIGEST"
  log "pushed $REF@$INDEX_DIGEST"
}

main() {
  local t0=$SECONDS
  ensure_packages skopeo jq
  skopeo inspect --raw --tls-verify=false "docker://$BASE_REF" >/dev/null 2>&1 \
    || die "$BASE_REF is missing: run scripts/test-base.sh first"
  WANTED="$(wanted_annotations)"

  if ((!FORCE)) && already_pushed; then
    log "$REF already has $(expected_platforms | tr '\n' ' ')(recipe $RECIPE, Node.js $NODE_VERSION); skipping build"
  else
    WORK="$(mktemp -d /tmp/archfarm-node-base.XXXXXX)"
    trap 'rm -rf "$WORK"' EXIT
    LAYOUT="$WORK/layout"
    build_layout
    push_layout
  fi
  log "done in $((SECONDS - t0))s"
  echo "$REF"
}

main
