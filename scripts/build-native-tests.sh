#!/usr/bin/env bash
# Builds the native unit tests (test/native/CMakeLists.txt: the Supervisor over
# a fake seccomp listener) into build/native-tests/. A checkout only: the
# package has no test/, and a user's install never builds them. Run by
# scripts/build-addon.sh, after the addon (whose rebuild empties build/).
set -euo pipefail
cd "$(dirname "$0")/.."
quietly() { # the output only when the step fails
  local out
  if ! out=$("$@" 2>&1); then
    echo "$out" >&2
    echo "netlog: building the native unit tests failed: $*" >&2
    exit 1
  fi
}
[ -e build/native-tests/CMakeCache.txt ] || quietly cmake -S test/native -B build/native-tests -DCMAKE_BUILD_TYPE=Release
quietly cmake --build build/native-tests -j 2
