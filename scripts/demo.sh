#!/usr/bin/env bash
# The live demo: builds realmchat, starts the realms alpha, beta and gamma with fresh stores,
# and plays a scripted story through build/bin/chatclient, printing every request with its
# reply: users of different realms talk privately and in groups, a message is pushed live,
# alpha reaches gamma through beta, then links it with addrealm, beta crashes while alpha queues messages for it (and alpha
# crashes too), and when beta is back they arrive exactly once.
#   scripts/demo.sh          stop the realms afterwards
#   scripts/demo.sh --keep   leave them running to connect to (scripts/cluster.sh down to stop)
# It doubles as an end-to-end smoke test: any unexpected reply makes it exit 1.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '2,9s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

keep=false
for arg in "$@"; do
  case $arg in
    --keep) keep=true ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $arg" ;;
  esac
done

realms=(alpha beta gamma)
cluster="$REALMCHAT_SCRIPTS/cluster.sh"
link_deadline_s=15
watch_seconds=6
unexpected_replies=0
watcher_pid=""

# chatclient answers a local command it does not know on stderr, without asking the realm.
# Sent after every command, with stderr merged into stdout, it marks where a reply ends:
# readable replies can span several lines (inbox, info, realms).
reply_end=/end-of-reply

# The replies to the last actor's commands, in order, as chatclient prints them.
replies=()

# actor USER REALM COMMAND...: one chatclient connection sends the COMMANDs in order (the
# login stays bound to it) and each is printed with its reply, in chatclient's readable form.
# A COMMAND written "!cmd" is one the realm should refuse (an `error:` reply); any other must
# get a plain OK (a getrealminbox that could not reach its realm, `warning:`, counts as a miss).
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
  for command in "${commands[@]}"; do args+=(-c "$command" -c "$reply_end"); done
  output="$("$REALMCHAT_BIN/chatclient" --realm "$realm" "${args[@]}" </dev/null 2>&1)" ||
    die "chatclient for $user@$realm failed (exit $?): $output"

  replies=()
  local line reply=""
  while IFS= read -r line; do
    if [[ $line == "chatclient: "*" $reply_end "* ]]; then
      replies+=("${reply%$'\n'}")
      reply=""
    else
      reply+="$line"$'\n'
    fi
  done <<<"$output"

  printf '\n── %s@%s ──\n' "$user" "$realm"
  local i
  for i in "${!commands[@]}"; do
    show_reply "${commands[i]}" "${replies[i]:-}" "${expect_error[i]}"
  done
}

# show_reply COMMAND REPLY ERROR_WANTED: prints "> COMMAND" and the REPLY, and marks a reply
# that is not what ERROR_WANTED (true/false) asks for.
show_reply() {
  local command=$1 reply=${2:-(no reply)} error_wanted=$3
  printf '> %s\n%s\n' "$command" "$reply"
  if $error_wanted; then
    [[ $reply == "error: "* ]] || unexpected "wanted an error"
  else
    [[ $reply != "error: "* && $reply != "warning: "* && $reply != "(no reply)" ]] ||
      unexpected "wanted OK"
  fi
}

unexpected() {
  printf '   ^ unexpected: %s\n' "$*"
  unexpected_replies=$((unexpected_replies + 1))
}

# expect_lines N COUNT TEXT: the reply to the last actor's Nth command (from 1) has COUNT
# lines ending in TEXT (a message line ends in ": its text").
expect_lines() {
  local number=$1 wanted=$2 text=$3 line found=0
  while IFS= read -r line; do
    if [[ $line == *"$text" ]]; then found=$((found + 1)); fi
  done <<<"${replies[number - 1]:-}"
  ((found == wanted)) ||
    unexpected "reply $number: $found lines ending in '$text', wanted $wanted"
}

# expect_once N TEXT...: each TEXT is in the reply to the last actor's Nth command exactly
# once, shown as a checked line in the transcript.
expect_once() {
  local number=$1 text before
  shift
  for text in "$@"; do
    before=$unexpected_replies
    expect_lines "$number" 1 ": $text"
    if ((unexpected_replies == before)); then printf '   ✓ exactly once: %s\n' "$text"; fi
  done
}

narrate() { printf '\n%s\n' "$*"; }

# wait_for_link REALM USER PASSWORD PEER: polls REALM's `realms` until its link to PEER is up
# and nothing waits in its outbox for PEER (every queued message acknowledged).
wait_for_link() {
  local realm=$1 user=$2 password=$3 peer=$4 reply
  local linked="\{\"name\":\"$peer\",\"state\":\"linked\"[^}]*\"queued\":0[,}]"
  local deadline=$((SECONDS + link_deadline_s))
  printf '\n(waiting until %s shows %s linked with an empty outbox)\n' "$realm" "$peer"
  until [[ ${reply:-} =~ $linked ]]; do
    ((SECONDS < deadline)) || die "$realm: no link to $peer within ${link_deadline_s}s"
    sleep 0.1
    reply="$("$REALMCHAT_BIN/chatclient" --realm "$realm" --json \
      -c "auth $user $password" -c realms </dev/null 2>/dev/null)" || true
  done
}

act_three_realms() {
  narrate "# Act 1: three realms are up. alpha dials beta at start; gamma is named in alpha's
# config with autoconnect: false, so alpha does not link it yet. Clients and realm links speak
# TLS: each realm's certificate is signed by a throwaway demo CA (run/tls/), peers check each
# other's against it, and chatclient --realm checks the realm's."
  wait_for_link alpha messi surabaya beta
  actor messi alpha \
    "auth messi surabaya" \
    "realms" \
    "logout"
}

act_one_realm() {
  narrate "# Act 2: inside alpha. A new user registers; seed users talk privately and in a group."
  actor gerrard alpha \
    "register gerrard liverpool Steven_Gerrard Inggris" \
    "info messi" \
    "logout"
  actor messi alpha \
    "!auth messi barcelona" \
    "auth messi surabaya" \
    "send henderson hello" \
    "addgroup timnas" \
    "logout"
  actor henderson alpha \
    "auth henderson surabaya" \
    "joingroup timnas" \
    "!joingroup timnas" \
    "sendgroup timnas latihan jam 3" \
    "inbox" \
    "logout"
  actor messi alpha \
    "auth messi surabaya" \
    "inbox" \
    "!send nobody hello?" \
    "logout"
}

act_across_realms() {
  narrate "# Act 3: across realms. messi on alpha writes to jokowi on beta; alpha answers once beta
# has acknowledged it. Unknown users and realms are refused. jokowi reads and answers."
  actor messi alpha \
    "auth messi surabaya" \
    "sendprivaterealm beta jokowi halo jokowi, salam dari alpha" \
    "!sendprivaterealm beta nobody halo?" \
    "!sendprivaterealm delta jokowi halo?" \
    "logout"
  actor jokowi beta \
    "auth jokowi 123" \
    "getrealminbox alpha" \
    "sendprivaterealm alpha messi terima kasih messi, salam dari beta" \
    "logout"
  expect_lines 2 1 ": halo jokowi, salam dari alpha"
  actor messi alpha \
    "auth messi surabaya" \
    "getrealminbox beta" \
    "logout"
  expect_lines 2 1 ": terima kasih messi, salam dari beta"
}

# The background chatclient of act_live_delivery: its output goes to this file.
watch_output() { printf '%s\n' "$REALMCHAT_RUN/demo-watch.out"; }

act_live_delivery() {
  local text="are you watching? this one is pushed live" output
  narrate "# Act 4: live delivery. jokowi keeps a second client open on beta that watches for
# ${watch_seconds} s:  build/bin/chatclient --realm beta --watch-for ${watch_seconds} -c 'auth jokowi 123' -c watch
# (the explicit watch answers once the watch is on). messi writes; beta pushes the message."
  output="$(watch_output)"
  "$REALMCHAT_BIN/chatclient" --realm beta --watch-for "$watch_seconds" \
    -c "auth jokowi 123" -c watch </dev/null >"$output" 2>&1 &
  watcher_pid=$!

  local deadline=$((SECONDS + link_deadline_s))
  until grep -qx 'ok: Watching' "$output"; do
    is_running "$watcher_pid" || die "the watching chatclient ended early: $(<"$output")"
    ((SECONDS < deadline)) || die "the watching chatclient did not start watching"
    sleep 0.1
  done
  # Its replies come first, one line each; pushed messages follow.
  printf '\n── jokowi@beta (watching) ──\n'
  show_reply "auth jokowi 123" "$(sed -n 1p "$output")" false
  show_reply watch "$(sed -n 2p "$output")" false

  actor messi alpha \
    "auth messi surabaya" \
    "sendprivaterealm beta jokowi $text" \
    "logout"

  wait "$watcher_pid" || die "the watching chatclient failed (exit $?): $(<"$output")"
  watcher_pid=""
  printf '\n── jokowi@beta (watching): pushed within %s s ──\n' "$watch_seconds"
  sed -n '3,$p' "$output"
  replies=("$(sed -n '3,$p' "$output")")
  expect_once 1 "$text"

  narrate "# A pushed message counts as read: it is not in jokowi's realm inbox any more."
  actor jokowi beta \
    "auth jokowi 123" \
    "getrealminbox alpha" \
    "logout"
  expect_lines 2 1 "(no messages from realm alpha)"
}

act_group_across_realms() {
  local text="rapat kominfo jam 3, dari alpha"
  narrate "# Act 5: a group across realms. jokowi creates kominfo on beta and prabowo joins; messi
# on alpha writes to the group, and beta (which owns it) delivers to every member."
  actor jokowi beta \
    "auth jokowi 123" \
    "addgroup kominfo" \
    "logout"
  actor prabowo beta \
    "auth prabowo 456" \
    "joingroup kominfo" \
    "logout"
  actor messi alpha \
    "auth messi surabaya" \
    "sendgrouprealm beta kominfo $text" \
    "!sendgrouprealm beta nogroup halo?" \
    "logout"
  actor jokowi beta \
    "auth jokowi 123" \
    "getrealminbox alpha" \
    "logout"
  expect_once 2 "$text"
  actor prabowo beta \
    "auth prabowo 456" \
    "getrealminbox alpha" \
    "logout"
  expect_once 2 "$text"
}

# wait_for_route REALM USER PASSWORD DEST VIA: polls REALM's `realms` until it lists DEST as
# reached through VIA (routing: docs/protocol.md §2).
wait_for_route() {
  local realm=$1 user=$2 password=$3 dest=$4 via=$5 reply
  local routed="\{\"name\":\"$dest\",\"state\":\"routed\"[^}]*\"via\":\"$via\""
  local deadline=$((SECONDS + link_deadline_s))
  printf '\n(waiting until %s shows a route to %s via %s)\n' "$realm" "$dest" "$via"
  until [[ ${reply:-} =~ $routed ]]; do
    ((SECONDS < deadline)) || die "$realm: no route to $dest via $via within ${link_deadline_s}s"
    sleep 0.1
    reply="$("$REALMCHAT_BIN/chatclient" --realm "$realm" --json \
      -c "auth $user $password" -c realms </dev/null 2>/dev/null)" || true
  done
}

act_through_beta() {
  narrate "# Act 5b: alpha reaches gamma through beta. alpha has no link to gamma yet, but beta,
# linked to both, announces its path: alpha lists gamma as routed via beta, two links away.
# messi writes to ronaldo; beta stores the message before passing it on, and gamma's answer
# comes back the same way, so messi hears \"sent\" as from a direct peer."
  wait_for_route alpha messi surabaya gamma beta
  actor messi alpha \
    "auth messi surabaya" \
    "realms" \
    "sendprivaterealm gamma ronaldo halo ronaldo, lewat beta" \
    "logout"
  actor ronaldo gamma \
    "auth ronaldo lisboa" \
    "getrealminbox alpha" \
    "logout"
  expect_once 2 "halo ronaldo, lewat beta"
}

act_add_realm() {
  narrate "# Act 6: alpha links gamma at run time. Only an admin may add a realm by address;
# messi, alpha's admin, links gamma (named in the config) with addrealm, then writes to ronaldo."
  actor henderson alpha \
    "auth henderson surabaya" \
    "!addrealm delta 127.0.0.1 9999" \
    "logout"
  actor messi alpha \
    "auth messi surabaya" \
    "addrealm gamma" \
    "!addrealm gamma" \
    "logout"
  # addrealm answers "connecting" if the handshake takes over 2 s (a busy machine).
  wait_for_link alpha messi surabaya gamma
  actor messi alpha \
    "auth messi surabaya" \
    "sendprivaterealm gamma ronaldo welcome to the federation, ronaldo" \
    "realms" \
    "logout"
  actor ronaldo gamma \
    "auth ronaldo lisboa" \
    "getrealminbox alpha" \
    "sendprivaterealm alpha messi obrigado, messi" \
    "logout"
  expect_once 2 "welcome to the federation, ronaldo"
  actor messi alpha \
    "auth messi surabaya" \
    "getrealminbox gamma" \
    "logout"
  expect_once 2 "obrigado, messi"
}

queued_private=("while beta is down (1/3)" "while beta is down (2/3)" "while beta is down (3/3)")
queued_group="kominfo: this one waited in alpha's outbox"

act_beta_down() {
  narrate "# Act 7: beta crashes (SIGKILL). alpha answers \"queued\" and keeps the messages for beta
# in its durable outbox; an OK means committed, so even killing alpha too loses none of them."
  printf '\n'
  "$cluster" kill beta
  actor messi alpha \
    "auth messi surabaya" \
    "sendprivaterealm beta jokowi ${queued_private[0]}" \
    "sendprivaterealm beta jokowi ${queued_private[1]}" \
    "sendprivaterealm beta jokowi ${queued_private[2]}" \
    "sendgrouprealm beta kominfo $queued_group" \
    "send lineker the match starts at 8" \
    "realms" \
    "logout"
  local i
  for i in 2 3 4 5; do expect_lines "$i" 1 "ok: Message queued for realm"; done
  printf '\n'
  "$cluster" kill alpha
  "$cluster" start alpha
  actor messi alpha \
    "auth messi surabaya" \
    "realms" \
    "logout"
  actor lineker alpha \
    "auth lineker surabaya" \
    "inbox" \
    "logout"
  expect_once 2 "the match starts at 8"
}

act_beta_back() {
  narrate "# Act 8: beta comes back. The link returns, alpha replays its outbox, and beta stores
# each message once (it remembers the last id it stored from alpha, so a replay is no copy)."
  printf '\n'
  "$cluster" start beta
  wait_for_link alpha messi surabaya beta
  actor jokowi beta \
    "auth jokowi 123" \
    "getrealminbox alpha" \
    "getrealminbox alpha" \
    "logout"
  expect_once 2 "${queued_private[@]}" "$queued_group"
  expect_lines 3 1 "(no messages from realm alpha)"
  actor prabowo beta \
    "auth prabowo 456" \
    "getrealminbox alpha" \
    "logout"
  expect_once 2 "$queued_group"
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

is_running() { kill -0 "$1" 2>/dev/null; }

# On any exit: the background chatclient goes; the realms go too unless --keep asked to keep
# them after a successful run (a failed run leaves nothing behind).
clean_up() {
  local status=$?
  if [[ -n $watcher_pid ]] && is_running "$watcher_pid"; then kill "$watcher_pid"; fi
  if ! $keep || ((status != 0)); then "$cluster" down "${realms[@]}"; fi
  return "$status"
}

"$REALMCHAT_SCRIPTS/build.sh"

"$cluster" down "${realms[@]}"
for realm in "${realms[@]}"; do reset_store "$realm"; done
trap clean_up EXIT
trap 'exit 130' INT TERM
"$cluster" up "${realms[@]}"

act_three_realms
act_one_realm
act_across_realms
act_live_delivery
act_group_across_realms
act_through_beta
act_add_realm
act_beta_down
act_beta_back

printf '\n'
if ((unexpected_replies > 0)); then
  die "$unexpected_replies unexpected replies (marked above)"
fi
if $keep; then
  say "The realms keep running. Connect with:  build/bin/chatclient --realm alpha (or beta, gamma)"
  say "Seed users: alpha messi, henderson, lineker (password surabaya); beta jokowi/123,"
  say "prabowo/456; gamma ronaldo/lisboa, rooney/manchester. Stop: scripts/cluster.sh down"
  for realm in "${realms[@]}"; do
    web="$(yaml_value "$REALMCHAT_ROOT/config/realm-$realm.yaml" web_listen)"
    if [[ -n $web ]]; then say "Realm $realm in a browser:  http://$web/"; fi
  done
fi
