#!/usr/bin/env bash
# Builds the native unit tests (test/native/CMakeLists.txt: the Supervisor over
# a fake seccomp listener) into build/native-tests/. A checkout only: the
# package has no test/, and a user's install never builds them. Run by
# scripts/build-addon.sh, after the addon (whose rebuild empties build/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/cmake-build.sh test/native build/native-tests "the native unit tests"
