#!/usr/bin/env bash
# Cost of a supervised login: median wall time of `ssh -p PORT USER@127.0.0.1 true`
# (10 runs each, alternated so that load drift hits both alike) for a user
# whose shell is /bin/bash and one whose shell is netlog-shell, under a
# netlogd started here. Root only; a test user, a loopback sshd and netlogd
# are created and removed. Not a test: numbers vary with the machine's load.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "login-cost: run as root" >&2; exit 1; }
[ -e /run/netlog/netlogd.sock ] && { echo "login-cost: a netlogd already runs" >&2; exit 1; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-10}
T=$(mktemp -d /tmp/netlog-login-cost.XXXXXX); chmod 755 "$T"
U=nlcost$$
V=nlcostn$$
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
made_sshd_dir=0
cleanup() {
  [ -n "${SSHD_PID:-}" ] && kill "$SSHD_PID" 2>/dev/null || true
  [ -n "${NETLOGD_PID:-}" ] && kill "$NETLOGD_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  userdel -r -f "$U" 2>/dev/null || true
  userdel -r -f "$V" 2>/dev/null || true
  node "$ROOT/bin/netlog.js" install --prefix "$T/prefix" --uninstall >/dev/null 2>&1 || true
  [ "$made_sshd_dir" = 1 ] && rm -rf /run/sshd
  rm -rf /run/netlog "$T"
}
trap cleanup EXIT
node "$ROOT/bin/netlog.js" install --prefix "$T/prefix" >/dev/null
SHELL_PATH=$T/prefix/libexec/netlog/netlog-shell
useradd -m -d "$T/home" -s /bin/bash -p '*' "$U"
useradd -m -d "$T/home2" -s "$SHELL_PATH" -p '*' "$V"
ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey"; ssh-keygen -q -t ed25519 -N '' -f "$T/userkey"
mkdir "$T/keys"; for u in "$U" "$V"; do cp "$T/userkey.pub" "$T/keys/$u"; chmod 644 "$T/keys/$u"; done
cat > "$T/sshd_config" <<CONF
Port $PORT
ListenAddress 127.0.0.1
HostKey $T/hostkey
PidFile $T/sshd.pid
UsePAM yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile $T/keys/%u
StrictModes no
AllowUsers $U $V
CONF
[ -d /run/sshd ] || { mkdir -m 755 /run/sshd; made_sshd_dir=1; }
/usr/sbin/sshd -D -f "$T/sshd_config" & SSHD_PID=$!
mkdir -m 700 "$T/log"; echo "output = $T/log/netlog.jsonl" > "$T/netlogd.conf"
node "$ROOT/bin/netlog.js" daemon -c "$T/netlogd.conf" & NETLOGD_PID=$!
for _ in $(seq 100); do [ -S /run/netlog/netlogd.sock ] && ss -ltn "sport = :$PORT" | grep -q LISTEN && break; sleep 0.1; done
ssh_true() { ssh -F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR -i "$T/userkey" -p "$PORT" "$1@127.0.0.1" true; }
ms() { local s e; s=$(date +%s%N); ssh_true "$1"; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {printf "%d\n", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ssh_true "$U"; ssh_true "$V"  # warm up
: > "$T/bare"; : > "$T/supervised"
for _ in $(seq "$N"); do ms "$U" >> "$T/bare"; ms "$V" >> "$T/supervised"; done
bare=$(median < "$T/bare"); supervised=$(median < "$T/supervised")
echo "ssh true, median of $N alternated runs: bare ${bare} ms, supervised ${supervised} ms ($((supervised - bare)) ms)"
echo "netlogd recorded $(grep -c "\"event\":\"start\",\"session\"" "$T/log/netlog.jsonl") supervised logins, $(grep -c "\"event\":\"exec\"" "$T/log/netlog.jsonl") execs"
# The registration alone, without ssh: the user runs its shell with -c true.
as_user() { setpriv --reuid="$V" --regid="$V" --init-groups -- "$@"; }
run_ms() { local s e; s=$(date +%s%N); as_user "$@"; e=$(date +%s%N); echo $(( (e - s) / 1000 )); }
: > "$T/bash_us"; : > "$T/shell_us"
for _ in $(seq $((N * 5))); do run_ms /bin/bash -c true >> "$T/bash_us"; run_ms "$SHELL_PATH" -c true >> "$T/shell_us"; done
echo "USER -c true, median of $((N * 5)) alternated runs: bash $(median < "$T/bash_us") us, netlog-shell (registration + bash) $(median < "$T/shell_us") us"
