#!/usr/bin/env bash
# Container smoke test (CI: npm run test:containers). Proves the containerised stack does the
# work, not only that it answers health:
#
#   1. builds the image (docker/setup.sh image: engine, bundles, docker build);
#   2. replays the workloads in-process, for their machines and as the reference reports;
#   3. for each workload, a fresh compose stack booted for its machine (PAGEMESH_ARCH, _MEM,
#      _CPUS, _TLB_ENTRIES: the services cannot be reset), replayed from the host with
#      `pagemesh replay NAME --addresses ...`: every expectation must hold and the report must be
#      the in-process one (same PFNs, page tables, TLB figures, /proc texts); then down;
#   4. one more fresh stack, all five services: `pagemesh status`, then the orchestrator
#      container's Replay RPC on its stack (docker/orchestrator-replay.mjs) must answer ok;
#
# then prints what ran and how long each step took. The stack is taken down whatever happened.
# Containers use host networking and loopback ports only (51051-51055 and +100 for metrics;
# PAGEMESH_SMOKE_BASE_PORT moves them). Logs and reports stay in $PAGEMESH_SMOKE_DIR (a new
# temporary directory by default).
set -euo pipefail
cd "$(dirname "$0")/.."
export COMPOSE_PROJECT_NAME=pagemesh-smoke
WORKLOADS=(${PAGEMESH_SMOKE_WORKLOADS:-lab-mmap demand-paging fork-cow})
# The workload the orchestrator's Replay RPC replays.
ORCHESTRATOR_WORKLOAD=${PAGEMESH_SMOKE_ORCHESTRATOR_WORKLOAD:-fork-cow}

base=${PAGEMESH_SMOKE_BASE_PORT:-51051}
export PAGEMESH_PA_PORT=$base PAGEMESH_MMU_PORT=$((base + 1)) PAGEMESH_DD_PORT=$((base + 2))
export PAGEMESH_VMA_PORT=$((base + 3)) PAGEMESH_ORCH_PORT=$((base + 4))
export PAGEMESH_PA_METRICS=$((base + 100)) PAGEMESH_MMU_METRICS=$((base + 101)) PAGEMESH_DD_METRICS=$((base + 102))
export PAGEMESH_VMA_METRICS=$((base + 103)) PAGEMESH_ORCH_METRICS=$((base + 104))
addresses="page-allocator=127.0.0.1:$PAGEMESH_PA_PORT,mmu=127.0.0.1:$PAGEMESH_MMU_PORT"
addresses+=",device-drivers=127.0.0.1:$PAGEMESH_DD_PORT,vma-manager=127.0.0.1:$PAGEMESH_VMA_PORT"

out=${PAGEMESH_SMOKE_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/pagemesh-smoke.XXXXXX")}
mkdir -p "$out"
started=$(date +%s.%N)
summary=()

on_exit() {
  local rc=$?
  if [ "$rc" != 0 ] && [ -n "$(docker-compose ps -q 2>/dev/null)" ]; then
    echo "--- service logs (last 20 lines each)" >&2
    docker-compose logs --no-color --tail=20 >&2 || true
  fi
  docker-compose down --timeout 10 >/dev/null 2>&1 || true
  [ "$rc" = 0 ] || echo "container smoke test FAILED (logs and reports in $out)" >&2
}
trap on_exit EXIT

seconds_since() { awk -v t0="$1" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.1f", t1 - t0 }'; }

# step LABEL LOG CMD...: runs CMD with its output in $out/LOG, and records how long it took. On
# failure the log's end is shown and the test stops.
step() {
  local label=$1 log=$out/$2 t0
  shift 2
  t0=$(date +%s.%N)
  echo "== $label"
  if ! "$@" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "== $label: failed after $(seconds_since "$t0") s (log: $log)" >&2
    exit 1
  fi
  summary+=("$(printf '%6s s  %s' "$(seconds_since "$t0")" "$label")")
}

# show CMD...: runs a quick check whose output is the verdict, shown as it is.
show() { "$@" | sed 's/^/   /'; }

# machine NAME: exports the machine the in-process replay of NAME ran on, for docker-compose, and
# says it in $machine_text.
machine() {
  local line
  line=$(node docker/replay-reports.mjs machines "$out/inproc.jsonl" | grep "^$1 ")
  read -r _ PAGEMESH_ARCH PAGEMESH_MEM PAGEMESH_CPUS PAGEMESH_TLB_ENTRIES <<<"$line"
  export PAGEMESH_ARCH PAGEMESH_MEM PAGEMESH_CPUS PAGEMESH_TLB_ENTRIES
  machine_text="$PAGEMESH_ARCH, $((PAGEMESH_MEM >> 20)) MiB, $PAGEMESH_CPUS CPUs, $PAGEMESH_TLB_ENTRIES TLB entries"
}

docker-compose down --timeout 10 >/dev/null 2>&1 || true
step "image: engine, bundles, docker build" image.log bash docker/setup.sh image
reference=("${WORKLOADS[@]}")
[[ " ${WORKLOADS[*]} " == *" $ORCHESTRATOR_WORKLOAD "* ]] || reference+=("$ORCHESTRATOR_WORKLOAD")
step "in-process reference: ${reference[*]}" inproc.log \
  sh -c "node bin/pagemesh.cjs replay ${reference[*]} --transport inproc --json >'$out/inproc.jsonl'"
show node docker/replay-reports.mjs verdict "$out/inproc.jsonl"

for w in "${WORKLOADS[@]}"; do
  machine "$w"
  step "$w: stack up (page-allocator, mmu, device-drivers, vma-manager; $machine_text)" "$w-up.log" \
    bash docker/setup.sh start vma-manager
  step "$w: pagemesh replay $w --addresses ..." "$w.log" \
    sh -c "node bin/pagemesh.cjs replay $w --addresses '$addresses' --json --report '$out/$w.md' >'$out/$w.jsonl'"
  show node docker/replay-reports.mjs verdict "$out/$w.jsonl"
  show node docker/replay-reports.mjs same "$w" "$out/inproc.jsonl" "$out/$w.jsonl"
  step "$w: stack down" "$w-down.log" docker-compose down --timeout 10
done

w=$ORCHESTRATOR_WORKLOAD
machine "$w"
step "orchestrator: stack up (all five; $machine_text)" orchestrator-up.log bash docker/setup.sh start
show node bin/pagemesh.cjs status --base-port "$base"
step "orchestrator: OrchestratorService.Replay $w" orchestrator.log \
  node docker/orchestrator-replay.mjs "127.0.0.1:$PAGEMESH_ORCH_PORT" "$w"
show tail -n 1 "$out/orchestrator.log"
step "orchestrator: stack down" orchestrator-down.log docker-compose down --timeout 10

echo
echo "container smoke test passed: what ran, and how long it took"
printf '%s\n' "${summary[@]}"
printf '%6s s  total (logs and reports in %s)\n' "$(seconds_since "$started")" "$out"
