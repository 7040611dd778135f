#!/usr/bin/env bash
# Builds the fixture programs of the live tests and the benchmark into
# build/fixtures/ (fixtures/CMakeLists.txt). Tests only: a user's install never
# builds them. Run by `npm test` (pretest) and `npm run bench` (prebench).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/cmake-build.sh fixtures build/fixtures "the test fixtures"
