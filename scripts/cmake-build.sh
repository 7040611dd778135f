#!/usr/bin/env bash
# cmake-build.sh SOURCE BUILD WHAT: configures SOURCE into BUILD once, then
# builds it, printing the tools' output only when a step fails ("building
# WHAT failed"). Shared by the test-only builds (fixtures, native unit tests).
set -euo pipefail
src=$1 build=$2 what=$3
quietly() {
  local out
  if ! out=$("$@" 2>&1); then
    echo "$out" >&2
    echo "netlog: building $what failed: $*" >&2
    exit 1
  fi
}
[ -e "$build/CMakeCache.txt" ] || quietly cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release
quietly cmake --build "$build" -j 2
