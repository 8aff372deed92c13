# Shared helpers for the scripts in this folder. Source it; do not run it.
# shellcheck shell=bash disable=SC2034  # the variables are for the scripts that source this

REALMCHAT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REALMCHAT_SCRIPTS="$REALMCHAT_ROOT/scripts"
REALMCHAT_BIN="$REALMCHAT_ROOT/build/bin"
REALMCHAT_RUN="$REALMCHAT_ROOT/run"

# Messages go to stderr so that stdout stays the programs' own output.
say() { printf '%s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# Parallel jobs for builds and ctest: every core (2 on the reference machine).
build_jobs() { nproc 2>/dev/null || echo 2; }

# Runs "$@" as root: directly when root, through sudo when it exists, else fails.
as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    die "need root (or sudo) to run: $*"
  fi
}

# True when something accepts TCP connections on HOST:PORT (bash's /dev/tcp, no netcat).
port_open() {
  local host=$1 port=$2
  (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

# Prints the value of a top-level-or-nested "KEY: value" line of a simple YAML file
# (the first match; quotes and trailing comments stripped). Enough for our own configs.
yaml_value() {
  local file=$1 key=$2
  sed -n -E "s/^[[:space:]]*${key}:[[:space:]]*\"?([^\"#[:space:]]*)\"?.*$/\1/p" "$file" | head -n 1
}
