#!/usr/bin/env bash
# npm test: every check CI runs, in order, stopping at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false

step() { printf '\n=== %s ===\n' "$*"; }

step "install (only if needed)"
node tools/ensure-installed.mjs
step "format:check"
npm run --silent format:check
step "lint (ESLint + module boundaries)"
npm run --silent lint
step "typecheck (nx sync:check + tsc -b)"
npm run --silent typecheck
step "proto (buf lint, buf breaking, drift)"
npm run --silent proto:check
step "build (esbuild bundles)"
npm run --silent build
step "tests (every project)"
npx nx run-many -t test --parallel=1 --outputStyle=stream
echo
echo "all checks passed"
