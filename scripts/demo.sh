#!/usr/bin/env bash
# make demo: a coordinator, one local agent and the local registry build examples/hello for
# four CPUs, publish one manifest list, and run each platform's image. Stops what it started.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin=$root/node_modules/.bin
state=$root/.archfarm/demo
listen=${ARCHFARM_DEMO_LISTEN:-127.0.0.1:7420}
tag=${ARCHFARM_DEMO_TAG:-127.0.0.1:5000/hello:1}
platforms=linux/amd64,linux/arm64,linux/arm/v7,linux/s390x
export ARCHFARM_COORDINATOR=$listen ARCHFARM_LOG_LEVEL=${ARCHFARM_LOG_LEVEL:-warn}

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
# A fresh data dir each run: the coordinator writes DATA/admin-token (0600) when it initialises one.
rm -rf "$state" && mkdir -p "$state"
export ARCHFARM_CONFIG=$state/cli-config.json

say() { printf '\n== %s\n' "$*" >&2; }

say "starting a coordinator on $listen (state in $state)"
ARCHFARM_LOG_LEVEL=info "$bin/archfarm-coordinator" --listen "$listen" --data-dir "$state/coordinator" 2>>"$state/coordinator.log" &
pids+=($!)
for _ in $(seq 1 100); do grep -q 'coordinator serving' "$state/coordinator.log" 2>/dev/null && break; sleep 0.2; done
admin_token=$(cat "$state/coordinator/admin-token")
fingerprint=$(grep -o 'sha256:[a-f0-9]\{64\}' "$state/coordinator.log" | head -n 1)
say "logging in (CA $fingerprint) and enrolling a local agent with a one-time join token"
"$bin/archfarm" login --coordinator "$listen" --ca-fingerprint "$fingerprint" --token-stdin <<<"$admin_token"
join_token=$("$bin/archfarm" tokens create --ttl 10m --uses 1)
say "starting the agent (it probes which CPUs its engine can run, natively or with QEMU)"
"$bin/archfarm-agent" --name local --slots 4 --state-dir "$state/agent" --join-token "$join_token" --ca-fingerprint "$fingerprint" 2>>"$state/agent.log" &
pids+=($!)

for _ in $(seq 1 120); do
  if "$bin/archfarm" agents --output json 2>/dev/null | grep -q '"name":"local"'; then break; fi
  sleep 0.5
done
"$bin/archfarm" agents
"$bin/archfarm" build --plan --platform "$platforms" -t "$tag" examples/hello

say "building examples/hello for $platforms as $tag"
digest=$("$bin/archfarm" build --platform "$platforms" -t "$tag" --progress plain examples/hello | tail -n 1)

say "the manifest list now under $tag ($digest)"
skopeo inspect --tls-verify=false --raw "docker://$tag" | jq .

say "running each platform's image"
for p in ${platforms//,/ }; do
  printf '%-14s ' "$p"
  docker run --rm --pull always --platform "$p" "$tag" 2>/dev/null
done
