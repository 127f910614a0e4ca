#!/usr/bin/env bash
# Containers on a machine with no engine running and no registry to pull from (see
# ../shared/design/docker.md). Each step is skipped when already done.
#
#   docker/setup.sh engine       install docker.io + docker-compose (Debian) and start dockerd
#   docker/setup.sh image        build the bundles, stage docker/context, build pagemesh/services
#   docker/setup.sh up           image, then start
#   docker/setup.sh start [SVC]  docker-compose up -d (all five, or SVC and what it depends on) with
#                                the image already built, and wait until they are healthy
#   docker/setup.sh down         docker-compose down
#   docker/setup.sh stop-engine  stop the dockerd this script started
#
# BASE_IMAGE: the image to build on. Unset, a base made from this machine's own node binary is
# imported as pagemesh/node-base (no registry needed); elsewhere pass node:20-bookworm-slim.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-pagemesh}
PIDFILE=/var/run/pagemesh-dockerd.pid
LOG=/var/log/pagemesh-dockerd.log

engine() {
  if ! command -v dockerd >/dev/null || ! command -v docker-compose >/dev/null; then
    [ "$(id -u)" = 0 ] || { echo "docker/setup.sh: installing docker.io needs root" >&2; exit 1; }
    # Keep the package from starting a daemon with the default bridge network.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    if ! apt-cache policy docker.io | grep -q 'Candidate: [0-9]'; then apt-get update -qq; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io docker-compose >/dev/null
  fi
  if ! docker info >/dev/null 2>&1; then
    # Host networking only: no bridge, no iptables, no NAT.
    setsid nohup dockerd --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
      --userland-proxy=false --pidfile "$PIDFILE" >"$LOG" 2>&1 < /dev/null &
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
    docker info >/dev/null 2>&1 || { echo "docker/setup.sh: dockerd did not start; see $LOG" >&2; exit 1; }
  fi
  echo "docker engine: $(docker version --format '{{.Server.Version}}')"
}

base_image() {
  if [ -n "${BASE_IMAGE:-}" ]; then return; fi
  export BASE_IMAGE=pagemesh/node-base:local
  if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then return; fi
  local dir
  dir=$(mktemp -d)
  local node
  node=$(readlink -f "$(command -v node)")
  mkdir -p "$dir/usr/bin" "$dir/tmp" "$dir/etc"
  cp "$node" "$dir/usr/bin/node"
  for lib in $(ldd "$node" | grep -o '/[^ ]*'); do
    mkdir -p "$dir$(dirname "$lib")" && cp -L "$lib" "$dir$lib"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' > "$dir/etc/passwd"
  chmod 1777 "$dir/tmp"
  tar -C "$dir" -c . | docker import --change 'WORKDIR /app' --change 'CMD ["node"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$dir"
  echo "base image: $BASE_IMAGE (from $node)"
}

stage() {
  node tools/ensure-installed.mjs
  node tools/build.mjs --quiet
  local ctx=docker/context
  rm -rf "$ctx" && mkdir -p "$ctx/node_modules"
  cp -r dist "$ctx/dist"
  cp docker/healthcheck.cjs "$ctx/healthcheck.cjs"
  # The production dependency closure, copied from the installed tree (no network needed).
  npm ls --omit=dev --all --parseable 2>/dev/null | grep "^$root/node_modules/" | grep -v "/node_modules/@pagemesh" |
    sed "s#^$root/node_modules/##" | grep -v '/node_modules/' | sort -u | while read -r pkg; do
      mkdir -p "$ctx/node_modules/$(dirname "$pkg")" && cp -r "node_modules/$pkg" "$ctx/node_modules/$pkg"
    done
}

image() {
  engine
  base_image
  stage
  BASE_IMAGE=$BASE_IMAGE docker-compose build --build-arg "BASE_IMAGE=$BASE_IMAGE" page-allocator
}

start() {
  # --no-build: an image missing here is an error to see, not a build from a base no one can pull.
  docker-compose up -d --no-build "$@"
  local ids states
  for _ in $(seq 1 120); do
    ids=$(docker-compose ps -q)
    # one line per container: "running healthy" once its grpc.health.v1 check has passed
    states=$(docker inspect --format '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' $ids)
    if [ -n "$ids" ] && [ -z "$(grep -vx 'running healthy' <<<"$states")" ]; then
      echo "all services healthy"
      docker-compose ps
      return
    fi
    # a service that stopped (a flag it refused, a crash) will not become healthy: say so now
    if grep -qv '^running ' <<<"$states"; then break; fi
    sleep 0.5
  done
  docker-compose ps
  docker-compose logs --no-color --tail=20
  echo "docker/setup.sh: services did not all become healthy" >&2
  exit 1
}

case "${1:-}" in
  engine) engine ;;
  image) image ;;
  up) image && start ;;
  start) shift && start "$@" ;;
  down) docker-compose down ;;
  stop-engine) [ -f "$PIDFILE" ] && kill "$(cat "$PIDFILE")" && echo "dockerd stopped" ;;
  *) sed -n '2,15p' "$0" >&2; exit 2 ;;
esac
