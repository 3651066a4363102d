#!/usr/bin/env bash
# What `make bench` needs beyond `make setup`: gnuplot (Debian's gnuplot-nox) for the scale chart.
set -euo pipefail
if ! command -v gnuplot >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends gnuplot-nox >/dev/null || { apt-get update >/dev/null && apt-get install -y --no-install-recommends gnuplot-nox >/dev/null; }
fi
