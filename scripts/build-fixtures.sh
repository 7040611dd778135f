#!/usr/bin/env bash
# Builds the fixture programs of the live tests and the benchmark into
# build/fixtures/ (fixtures/CMakeLists.txt). Tests only: a user's install never
# builds them. Run by `npm test` (pretest) and `npm run bench` (prebench).
set -euo pipefail
cd "$(dirname "$0")/.."
quietly() { # the output only when the step fails
  local out
  if ! out=$("$@" 2>&1); then
    echo "$out" >&2
    echo "netlog: building the test fixtures failed: $*" >&2
    exit 1
  fi
}
[ -e build/fixtures/CMakeCache.txt ] || quietly cmake -S fixtures -B build/fixtures -DCMAKE_BUILD_TYPE=Release
quietly cmake --build build/fixtures -j 2
