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

# Makes the demo cluster's throwaway TLS files in DIR, unless they are there: a CA (ca.crt,
# ca.key) and, for each NAME, NAME.crt / NAME.key signed by it, naming the realm (DNS:NAME, what
# peers check) and this machine's loopback (what `chatclient --connect 127.0.0.1:PORT` checks).
# For demos only: a real cluster's CA key is kept offline (docs/operations.md, "TLS").
make_demo_certificates() {
  local dir=$1 name
  shift
  mkdir -p "$dir"
  if [[ ! -f $dir/ca.crt || ! -f $dir/ca.key ]]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
      -subj "/CN=realmchat demo CA" -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null ||
      die "openssl could not make the demo CA in $dir"
  fi
  for name in "$@"; do
    # Kept while still signed by this CA (a new CA makes every certificate again).
    [[ -f $dir/$name.key ]] && openssl verify -CAfile "$dir/ca.crt" "$dir/$name.crt" \
      >/dev/null 2>&1 && continue
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$name" \
      -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null &&
      openssl x509 -req -days 365 -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
        -CAcreateserial -out "$dir/$name.crt" -extfile <(printf '%s\n' \
          "subjectAltName=DNS:$name,DNS:localhost,IP:127.0.0.1" \
          "extendedKeyUsage=serverAuth,clientAuth" "basicConstraints=CA:FALSE") 2>/dev/null ||
      die "openssl could not make the certificate of $name in $dir"
    rm -f "$dir/$name.csr"
  done
  chmod 600 "$dir"/*.key
}
