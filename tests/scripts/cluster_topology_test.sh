#!/usr/bin/env bash
# CTest process_cluster_topology: the configs of `scripts/cluster.sh up --topology T` link each
# realm to its neighbours only (line) or to every other (mesh), keep each topology's stores
# apart, and pass realmd --check-config. Writes nothing outside its temporary directory and
# starts no realm (the demo's ports are fixed; other tests and demos may hold them).
#   cluster_topology_test.sh BIN_DIR
set -euo pipefail
bin_dir="$(cd "$1" && pwd)"
source_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR/../../scripts source=lib.sh
source "$source_dir/scripts/lib.sh"
cluster="$source_dir/scripts/cluster.sh"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failures=0

fail() {
  printf 'FAILED: %s\n' "$*" >&2
  failures=$((failures + 1))
}

# The names under `peers:` of a generated config, space-separated, in order.
peers_of() {
  awk '/^peers:/ { in_peers = 1; next } in_peers && /^  - \{name: / {
         sub(/^  - \{name: /, ""); sub(/,.*/, ""); printf "%s%s", sep, $0; sep = " "; next }
       /^[^ ]/ { in_peers = 0 }' "$1"
}

# expect_peers DIR NAME PEERS...: realm NAME's config in DIR names exactly PEERS, dialled.
expect_peers() {
  local dir=$1 name=$2
  shift 2
  local got
  got="$(peers_of "$dir/realm-$name.yaml")"
  [[ $got == "$*" ]] || fail "$dir: $name links to '$got', expected '$*'"
  if grep -E '^  - \{name: ' "$dir/realm-$name.yaml" | grep -vq 'autoconnect: true'; then
    fail "$dir: $name has a peer it does not dial"
  fi
}

# expect_config DIR TOPOLOGY NAME: own store per topology, relaying on, realmd accepts it.
expect_config() {
  local dir=$1 topology=$2 name=$3 file="$1/realm-$3.yaml"
  [[ "$(yaml_value "$file" data_dir)" == "run/data/$topology/$name" ]] ||
    fail "$file: data_dir is '$(yaml_value "$file" data_dir)'"
  [[ "$(yaml_value "$file" relay)" == true ]] || fail "$file: relay is not on"
  # From a directory with the demo's TLS files, as the configs' relative paths expect.
  (cd "$work" && "$bin_dir/realmd" --check-config "$file" >/dev/null) ||
    fail "$file: realmd --check-config refused it"
}

make_demo_certificates "$work/run/tls" alpha beta gamma

"$cluster" configs line "$work/line" alpha beta gamma
expect_peers "$work/line" alpha beta
expect_peers "$work/line" beta alpha gamma
expect_peers "$work/line" gamma beta
for name in alpha beta gamma; do expect_config "$work/line" line "$name"; done

# The order of the names is the order of the line.
"$cluster" configs line "$work/line2" gamma alpha beta
expect_peers "$work/line2" gamma alpha
expect_peers "$work/line2" alpha gamma beta
expect_peers "$work/line2" beta alpha

"$cluster" configs mesh "$work/mesh"
expect_peers "$work/mesh" alpha beta gamma
expect_peers "$work/mesh" beta alpha gamma
expect_peers "$work/mesh" gamma alpha beta
for name in alpha beta gamma; do expect_config "$work/mesh" mesh "$name"; done

# Refused: an unknown topology, a realm named twice, a realm without a shipped config.
for args in "ring $work/ring" "line $work/twice alpha beta alpha" "line $work/none alpha omega"; do
  # shellcheck disable=SC2086 # each entry is several arguments
  if "$cluster" configs $args 2>/dev/null; then fail "cluster.sh configs $args succeeded"; fi
done

if ((failures > 0)); then
  printf '%d checks failed\n' "$failures" >&2
  exit 1
fi
echo "cluster topology configs: line, reordered line and mesh as expected"
