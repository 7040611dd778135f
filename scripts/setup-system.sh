#!/usr/bin/env bash
# Installs the Debian packages netlog needs when they are missing: to build
# (cmake, g++, make, python3), to test (curl, tmux, iproute2, util-linux,
# procps, rsyslog, openssh-server, openssh-client, sudo) and, with the argument "bench", to benchmark (strace).
# Runs as npm's preinstall step and from .ci/run; does nothing when all is there.
set -euo pipefail

need=()
want() { # want COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 || need+=("$2")
}
want cmake cmake
want g++ g++
want make make
want python3 python3
want curl curl
want tmux tmux
want ss iproute2
want setpriv util-linux
want ps procps
want rsyslogd rsyslog
# Login-session tests: a real sshd on loopback, its client, sudo.
want sshd openssh-server
want ssh openssh-client
want sudo sudo
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || [ -e /usr/lib/aarch64-linux-gnu/libc.a ] || need+=(libc6-dev)
if [ "${1:-}" = bench ]; then
  want strace strace
fi

[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "netlog setup: missing packages: ${need[*]} (install them with your package manager)" >&2
  exit 1
fi
echo "netlog setup: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
