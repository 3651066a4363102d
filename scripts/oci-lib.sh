# shellcheck shell=bash
# Helpers for scripts that write an OCI image layout by hand (sourced after lib.sh).
# The caller sets LAYOUT (the layout dir, with blobs/sha256) and WORK (a scratch dir).

# shellcheck disable=SC2034 # used by the scripts that source this file
MT_INDEX=application/vnd.oci.image.index.v1+json
# shellcheck disable=SC2034
MT_MANIFEST=application/vnd.oci.image.manifest.v1+json
# shellcheck disable=SC2034
MT_CONFIG=application/vnd.oci.image.config.v1+json
# shellcheck disable=SC2034
MT_LAYER=application/vnd.oci.image.layer.v1.tar+gzip
# shellcheck disable=SC2034
EPOCH_ISO=1970-01-01T00:00:00Z

field() { # field N "a|b|c|d" -> Nth field (1-based)
  local IFS='|' parts
  read -r -a parts <<<"$2|"
  printf '%s' "${parts[$(($1 - 1))]:-}"
}

platform_string() { # "arm" "v7" -> linux/arm/v7
  local arch=$1 variant=$2
  printf 'linux/%s%s' "$arch" "${variant:+/$variant}"
}

# put_blob FILE: moves FILE into the layout's blobs; sets BLOB_DIGEST, BLOB_SIZE.
# (Globals rather than output, so errors are not lost in a subshell.)
put_blob() {
  local hex
  hex="$(sha256sum "$1" | cut -d' ' -f1)"
  BLOB_DIGEST="sha256:$hex"
  BLOB_SIZE="$(stat -c %s "$1")"
  mv "$1" "$LAYOUT/blobs/sha256/$hex"
}

# put_json JSON: like put_blob, for a JSON document given as a string.
put_json() {
  local tmp="$WORK/json.tmp"
  printf '%s' "$1" >"$tmp"
  put_blob "$tmp"
}

# blob_path DIGEST: the file of a blob in the layout.
blob_path() {
  printf '%s/blobs/sha256/%s' "$LAYOUT" "${1#sha256:}"
}

# put_layer DIR: a reproducible gzip layer of everything under DIR (sorted, mtime 0,
# uid/gid 0), so the same files always give the same digests. Sets BLOB_DIGEST,
# BLOB_SIZE and LAYER_DIFF_ID (the digest of the uncompressed tar, for the config).
put_layer() {
  local layer="$WORK/layer.tar" top
  mapfile -t top < <(ls -A "$1") # top-level names, without a "./" entry for the root
  tar -C "$1" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
    --format=gnu -cf "$layer" "${top[@]}"
  LAYER_DIFF_ID="sha256:$(sha256sum "$layer" | cut -d' ' -f1)"
  gzip -n "$layer"
  put_blob "$layer.gz"
}
