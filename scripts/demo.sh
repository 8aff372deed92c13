#!/usr/bin/env bash
# The live demo: builds realmchat, starts realm alpha with a fresh store, plays a scripted
# conversation through build/bin/chatclient and prints every request with its reply.
#   scripts/demo.sh          stop the realm afterwards
#   scripts/demo.sh --keep   leave it running to connect to (scripts/cluster.sh down to stop)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '2,5s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

keep=false
for arg in "$@"; do
  case $arg in
    --keep) keep=true ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $arg" ;;
  esac
done

realms=(alpha)
cluster="$REALMCHAT_SCRIPTS/cluster.sh"
unexpected_replies=0

# actor USER REALM COMMAND...: one chatclient connection sends the COMMANDs in order (the
# login stays bound to it) and each is printed with its reply, the raw JSON line of the
# protocol. A COMMAND written "!cmd" is one the realm should refuse; any other must get OK.
actor() {
  local user=$1 realm=$2
  shift 2
  local commands=() expect_error=() command
  for command in "$@"; do
    if [[ $command == !* ]]; then
      commands+=("${command#!}")
      expect_error+=(true)
    else
      commands+=("$command")
      expect_error+=(false)
    fi
  done

  local args=() output
  for command in "${commands[@]}"; do args+=(-c "$command"); done
  output="$("$REALMCHAT_BIN/chatclient" --realm "$realm" --json "${args[@]}" </dev/null)" ||
    die "chatclient for $user@$realm failed (exit $?)"
  local replies=()
  mapfile -t replies <<<"$output"

  printf '\n── %s@%s ──\n' "$user" "$realm"
  local i reply wanted
  for i in "${!commands[@]}"; do
    reply=${replies[i]:-(no reply)}
    printf '> %s\n%s\n' "${commands[i]}" "$reply"
    wanted='"status":"OK"'
    ${expect_error[i]} && wanted='"status":"ERROR"'
    if [[ $reply != *"$wanted"* ]]; then
      printf '   ^ unexpected: wanted %s\n' "$wanted"
      unexpected_replies=$((unexpected_replies + 1))
    fi
  done
}

narrate() { printf '\n%s\n' "$*"; }

act_accounts() {
  narrate "# Act 1: a new user registers; seed users log in and talk privately and in a group."
  actor jokowi alpha \
    "register jokowi 123 joko_widodo indonesia" \
    "info jokowi" \
    "logout"
  actor messi alpha \
    "!auth messi barcelona" \
    "auth messi surabaya" \
    "send henderson hello" \
    "addgroup kominfo" \
    "logout"
  actor henderson alpha \
    "auth henderson surabaya" \
    "joingroup kominfo" \
    "!joingroup kominfo" \
    "sendgroup kominfo rapat kominfo jam 3" \
    "inbox" \
    "info messi" \
    "logout"
  actor messi alpha \
    "auth messi surabaya" \
    "inbox" \
    "!send nobody hello?" \
    "logout"
}

act_crash_safety() {
  narrate "# Act 2: an OK means committed. messi writes to lineker, then realm alpha is killed with
# SIGKILL and started again; lineker still finds the message."
  actor messi alpha \
    "auth messi surabaya" \
    "send lineker the match starts at 8" \
    "logout"
  printf '\n'
  "$cluster" kill alpha
  "$cluster" start alpha
  actor lineker alpha \
    "auth lineker surabaya" \
    "inbox" \
    "logout"
}

# Deletes a realm's store (its config's data_dir), refusing any path outside run/.
reset_store() {
  local realm=$1 data_dir
  data_dir="$(yaml_value "$REALMCHAT_ROOT/config/realm-$realm.yaml" data_dir)"
  [[ $data_dir == /* ]] || data_dir="$REALMCHAT_ROOT/$data_dir"
  data_dir="$(realpath -m "$data_dir")"
  [[ $data_dir == "$REALMCHAT_RUN"/* ]] || die "$realm: data_dir $data_dir is outside run/; not deleting it"
  rm -rf "$data_dir"
}

stop_realms() { "$cluster" down "${realms[@]}"; }

"$REALMCHAT_SCRIPTS/build.sh"

"$cluster" down "${realms[@]}"
for realm in "${realms[@]}"; do reset_store "$realm"; done
$keep || trap stop_realms EXIT
"$cluster" up "${realms[@]}"

act_accounts
act_crash_safety

printf '\n'
if $keep; then
  say "Realm alpha keeps running. Connect with:  build/bin/chatclient --realm alpha"
  say "(seed users messi, henderson, lineker; password surabaya). Stop: scripts/cluster.sh down alpha"
  for realm in "${realms[@]}"; do
    web="$(yaml_value "$REALMCHAT_ROOT/config/realm-$realm.yaml" web_listen)"
    if [[ -n $web ]]; then say "Realm $realm in a browser:  http://$web/"; fi
  done
fi
if ((unexpected_replies > 0)); then
  die "$unexpected_replies unexpected replies (marked above)"
fi
