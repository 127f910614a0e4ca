#!/usr/bin/env bash
# Container smoke test: builds the image, brings the five services up with docker-compose (host
# networking, loopback ports), checks every one answers health through `pagemesh status`, and
# takes them down again, whatever happened.
set -euo pipefail
cd "$(dirname "$0")/.."
export COMPOSE_PROJECT_NAME=pagemesh-smoke
base=${PAGEMESH_SMOKE_BASE_PORT:-51051}
export PAGEMESH_PA_PORT=$base PAGEMESH_MMU_PORT=$((base + 1)) PAGEMESH_DD_PORT=$((base + 2))
export PAGEMESH_VMA_PORT=$((base + 3)) PAGEMESH_ORCH_PORT=$((base + 4))
export PAGEMESH_PA_METRICS=$((base + 100)) PAGEMESH_MMU_METRICS=$((base + 101)) PAGEMESH_DD_METRICS=$((base + 102))
export PAGEMESH_VMA_METRICS=$((base + 103)) PAGEMESH_ORCH_METRICS=$((base + 104)) PAGEMESH_MEM=256M
trap 'docker-compose down --timeout 10 >/dev/null 2>&1 || true' EXIT
bash docker/setup.sh up
node bin/pagemesh.cjs status --base-port "$base"
echo "container smoke test passed"
