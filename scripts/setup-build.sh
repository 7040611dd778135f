#!/usr/bin/env bash
# What building netlog needs, and nothing else: cmake, a C and a C++ compiler
# and make (the addon and the vendored libseccomp), python3. Run as npm's
# preinstall step (reports what is missing, exit 1) and by .ci/run (--install).
set -euo pipefail
source "$(dirname "$0")/setup-common.sh"

need cmake cmake
need gcc cc gcc
need g++ c++ g++
need make make
need python3 python3
need libc6-dev /usr/include/stdio.h
finish build "$@"
