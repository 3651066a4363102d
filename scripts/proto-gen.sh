#!/usr/bin/env bash
# Regenerates proto/src/gen (generated code only; ts-proto marks each file DO NOT EDIT)
# from the .proto files with buf + ts-proto.
# --check: regenerate into a scratch folder and fail when it differs from what is committed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/proto"

generate() { # base-dir: the plugin writes into BASE/src/gen
  rm -rf "$1/src/gen"
  "$root/node_modules/.bin/buf" generate --output "$1"
}

if [ "${1:-}" = "--check" ]; then
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  generate "$scratch"
  if ! diff -r "$scratch/src/gen" src/gen >/dev/null; then
    diff -ru src/gen "$scratch/src/gen" | head -40 >&2
    echo "proto: src/gen is stale: run 'npm run proto:gen' and commit the result" >&2
    exit 1
  fi
  echo "proto: generated code is up to date" >&2
else
  generate .
fi
