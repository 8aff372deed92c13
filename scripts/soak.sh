#!/usr/bin/env bash
# Soak: three realms linked to each other (fresh, in run/soak/PID/), driven by scripts/soak.py
# with 1,000,000 messages mixed local / cross-realm / group while every user reads its inboxes;
# reports throughput, each realmd's RSS at start, after warm-up, every 10% and at the end, and
# counts every inbox at the end: exits 1 if an accepted message was lost or duplicated, a
# request failed, or an RSS grew more than 10% after warm-up. Not run in CI (minutes).
#   scripts/soak.sh [--messages N] [--warmup N] [--bin DIR] [--keep]
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '2,7s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

bin_dir="$REALMCHAT_BIN"
messages=1000000
warmup=100000
keep=false
max_rss_growth_percent=10
while [[ $# -gt 0 ]]; do
  case $1 in
    --messages) messages=$2; shift ;;
    --warmup) warmup=$2; shift ;;
    --bin) bin_dir=$(cd "$2" && pwd); shift ;;
    --keep) keep=true ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  shift
done
realmd="$bin_dir/realmd"
[[ -x $realmd ]] || die "no realmd in $bin_dir: run scripts/build.sh"

work="$REALMCHAT_RUN/soak/$$"
mkdir -p "$work"
realms=(alpha beta gamma)
declare -A pid client_port peer_port
cleanup() {
  local name
  for name in "${!pid[@]}"; do kill "${pid[$name]}" 2>/dev/null || true; done
  for name in "${!pid[@]}"; do wait "${pid[$name]}" 2>/dev/null || true; done
  if $keep; then say "soak: logs and data kept in ${work#"$REALMCHAT_ROOT"/}"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Peer ports are fixed up front: each realm's config names the others'.
for name in "${realms[@]}"; do
  peer_port[$name]="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
done
for name in "${realms[@]}"; do
  mkdir -p "$work/$name"
  peers=""
  for other in "${realms[@]}"; do
    [[ $other == "$name" ]] && continue
    peers+="${peers:+, }{name: $other, address: 127.0.0.1:${peer_port[$other]}}"
  done
  cat >"$work/$name/realm.yaml" <<YAML
realm: {name: $name, listen: 127.0.0.1:0, peer_listen: 127.0.0.1:${peer_port[$name]}, data_dir: $work/$name/data}
federation: {secret: soak-secret}
peers: [$peers]
durability: process
password_cost: min
YAML
  "$realmd" --config "$work/$name/realm.yaml" >"$work/$name/realmd.log" 2>&1 &
  pid[$name]=$!
done
for name in "${realms[@]}"; do
  deadline=$((SECONDS + 30))
  until grep -q "realm $name: clients on " "$work/$name/realmd.log"; do
    ((SECONDS < deadline)) || { cat "$work/$name/realmd.log" >&2; die "realm $name did not start"; }
    sleep 0.05
  done
  client_port[$name]="$(sed -n -E "s/.*realm $name: clients on [^ ]*:([0-9]+).*/\1/p" "$work/$name/realmd.log")"
done

args=(--messages "$messages" --warmup "$warmup")
for name in "${realms[@]}"; do args+=(--realm "$name=${client_port[$name]}" --pid "$name=${pid[$name]}"); done
say "soak: $messages messages over realms ${realms[*]} (logs in ${work#"$REALMCHAT_ROOT"/})"
status=0
report="$(python3 "$REALMCHAT_SCRIPTS/soak.py" "${args[@]}")" || status=$?
printf '%s\n' "$report"
summary="$(printf '%s\n' "$report" | grep '^{"soak"' || true)"
[[ -n $summary ]] || die "soak.py reported nothing (exit $status)"
growth="$(python3 -c 'import json, sys
print(max(json.loads(sys.argv[1])["rss_growth_after_warmup_percent"].values()))' "$summary")"
if python3 -c "import sys; sys.exit(0 if $growth > $max_rss_growth_percent else 1)"; then
  say "soak: RSS grew ${growth}% after warm-up (limit ${max_rss_growth_percent}%)"
  status=1
fi
if ((status == 0)); then say "soak: passed"; else say "soak: FAILED"; fi
exit "$status"
