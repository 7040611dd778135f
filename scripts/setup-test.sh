#!/usr/bin/env bash
# What the test suite and the benchmark need on top of the build tools: the
# real programs the live tests run. Run by `npm test` (pretest: reports what is
# missing, exit 1) and by .ci/run (--install, as root, apt-get).
set -euo pipefail
source "$(dirname "$0")/setup-common.sh"

need tmux tmux
need rsyslog rsyslogd
need curl curl
need iproute2 ip
need util-linux setpriv
need procps ps
need git git
need openssh-server sshd
need openssh-client ssh
need sudo sudo
need strace strace
need python3 python3
need jq jq
need libc-bin getent
# static_true is linked with -static
need libc6-dev /usr/lib/x86_64-linux-gnu/libc.a /usr/lib/aarch64-linux-gnu/libc.a
finish test "$@"
