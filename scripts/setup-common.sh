# Sourced by setup-build.sh and setup-test.sh: checks for programs and files by
# their path (a user's PATH may lack /usr/sbin, where sshd and rsyslogd live),
# reports what is missing, and with --install apt-get installs it (root only).

DIRS=(/usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin)
missing=()   # Debian packages
what=()      # what each one provides, for the message

# need PACKAGE NAME...: one of the programs NAME (or absolute paths) must exist.
need() {
  local pkg=$1 name dir
  shift
  for name in "$@"; do
    if [[ $name == /* ]]; then
      [ -e "$name" ] && return 0
    else
      for dir in "${DIRS[@]}"; do
        [ -x "$dir/$name" ] && return 0
      done
    fi
  done
  missing+=("$pkg")
  what+=("$pkg ($1)")
}

# finish LABEL "$@": exit 0 when nothing is missing; else install (--install) or say what to do.
finish() {
  local label=$1 install=0
  shift
  [ "${1:-}" = --install ] && install=1
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ $install = 0 ]; then
    echo "netlog $label: missing: ${what[*]}" >&2
    echo "netlog $label: install them with your package manager, or on Debian/Ubuntu as root: bash scripts/setup-$label.sh --install" >&2
    exit 1
  fi
  if [ "$(id -u)" != 0 ] || [ ! -x /usr/bin/apt-get ]; then
    echo "netlog $label: missing: ${what[*]}; --install needs root and apt-get" >&2
    exit 1
  fi
  echo "netlog $label: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}
