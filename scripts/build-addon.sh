#!/usr/bin/env bash
# Builds the native addon (build/Release/netlog_native.node) and the vendored
# libseccomp it links, with cmake-js: npm's install step, in a checkout and in an
# installed package alike (no download: libseccomp is in native/vendor/, the
# Node-API headers come with cmake-js). Skipped when the addon is newer than its
# sources, so that `npx netlog-run` works for a user who cannot write the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$PWD/node_modules/.bin:$PATH"
addon=build/Release/netlog_native.node
# In a checkout, the native unit tests are built beside the addon.
native_tests() { [ ! -e test/native/CMakeLists.txt ] || bash scripts/build-native-tests.sh; }
if [ "${1:-}" != --force ] && [ -e $addon ] && [ -z "$(find native CMakeLists.txt -newer $addon -print -quit)" ]; then
  native_tests
  exit 0
fi
if [ -e $addon ] && { [ ! -w . ] || [ ! -w build ]; }; then
  echo "netlog: $addon is out of date and $(id -un) cannot write it: its owner can rebuild it with npm run build" >&2
  exit 0
fi
cmake-js compile --out build
native_tests
