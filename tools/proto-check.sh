#!/usr/bin/env bash
# Proto checks: buf lint (STANDARD), buf breaking against main, and a drift check that
# regenerates libs/proto/src/gen and fails if the committed code differs from it.
set -euo pipefail
cd "$(dirname "$0")/.."

npx buf lint
echo "proto: buf lint ok"

if git rev-parse --verify -q main >/dev/null; then
  npx buf breaking --against '.git#branch=main'
  echo "proto: buf breaking against main ok"
else
  echo "proto: no main branch in this checkout; buf breaking not run" >&2
fi

npx buf generate
drift=$(git status --porcelain -- libs/proto/src/gen)
if [ -n "$drift" ]; then
  echo "proto: generated code differs from the .proto files (run npm run proto:gen and commit):" >&2
  echo "$drift" >&2
  git --no-pager diff --stat -- libs/proto/src/gen >&2
  exit 1
fi
echo "proto: generated code up to date"
