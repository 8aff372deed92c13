#!/usr/bin/env bash
# Runs demo realms in the background, one realmd per config/realm-NAME.yaml.
#   scripts/cluster.sh up     [--topology T | --store postgres] [NAME...]   start, wait until each serves
#   scripts/cluster.sh down   [NAME...]   SIGTERM, then SIGKILL after a deadline
#   scripts/cluster.sh status [NAME...]   pid, client address, up/standby/down
#   scripts/cluster.sh start|stop NAME... the same as up/down, for the named realms
#   scripts/cluster.sh kill NAME...       SIGKILL at once (to show crash safety)
#   scripts/cluster.sh configs T DIR [NAME...]   only write topology T's configs into DIR
# NAME defaults to: alpha beta gamma. Pid files and logs: run/NAME.pid, run/NAME.log;
# the store lives in each config's data_dir. --store postgres: alpha on a private PostgreSQL
# (run/postgres) with a standby, alpha-standby (clients 8892), until `down`.
# --topology: which realms link to each other, until `down` (default: the configs as shipped):
#   line   each NAME only to the ones beside it in the list (alpha-beta-gamma: alpha reaches
#          gamma only through beta); mesh   every pair linked at start.
# Their configs are generated into run/config, with stores in run/data/T/NAME.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

default_realms=(alpha beta gamma)
start_deadline_s=20
stop_deadline_s=10

usage() { sed -n '2,15s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

# --store postgres: the configs are generated into run/config (alpha with a `store:` section,
# its standby, beta and gamma listing both of alpha's addresses), and run/store says so.
store_mode_file="$REALMCHAT_RUN/store"
postgres_dir="$REALMCHAT_RUN/postgres"
postgres_bin=/usr/lib/postgresql/15/bin
postgres_realms=(alpha alpha-standby beta gamma)
on_postgres() { [[ -f $store_mode_file ]]; }
# --topology: run/topology holds "TOPOLOGY NAME..." while the cluster runs with it.
topology_file="$REALMCHAT_RUN/topology"
on_topology() { [[ -f $topology_file ]]; }

config_file() {
  local file="$REALMCHAT_ROOT/config/realm-$1.yaml"
  if on_postgres || on_topology; then file="$REALMCHAT_RUN/config/realm-$1.yaml"; fi
  [[ -f $file ]] || die "no config for realm '$1': ${file#"$REALMCHAT_ROOT"/} is missing"
  printf '%s\n' "$file"
}

# The client address HOST:PORT of a realm, from its config's `listen:` line.
client_address() {
  local file address
  file="$(config_file "$1")" || return 1
  address="$(yaml_value "$file" listen)"
  [[ $address == *:* ]] || die "realm '$1': no 'listen: HOST:PORT' in its config"
  printf '%s\n' "$address"
}

# Where to probe a listen address from this machine (a wildcard listens on loopback too).
probe_host() {
  local host=${1%:*}
  host=${host#[}
  host=${host%]}
  case $host in "" | 0.0.0.0 | ::) host=127.0.0.1 ;; esac
  printf '%s\n' "$host"
}

pid_file() { printf '%s\n' "$REALMCHAT_RUN/$1.pid"; }
log_file() { printf '%s\n' "$REALMCHAT_RUN/$1.log"; }

# True when PID is a live process. A zombie counts as gone: it has exited, and nobody may
# reap it soon (an orphan's parent can be a container's init).
is_alive() {
  local state
  state="$(sed -E 's/^.*\) (.).*$/\1/' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n $state && $state != Z ]]
}

# True when PID is a live realmd serving realm NAME. Checking the command line guards
# against a stale pid file whose pid now belongs to another process.
is_realmd() {
  local pid=$1 name=$2 cmdline
  is_alive "$pid" || return 1
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ $cmdline == *realmd*"realm-$name.yaml"* ]]
}

# Prints the pid of realm NAME if it runs; fails (and drops a stale pid file) otherwise.
running_pid() {
  local name=$1 file pid
  file="$(pid_file "$name")"
  [[ -f $file ]] || return 1
  pid="$(<"$file")"
  if [[ $pid =~ ^[0-9]+$ ]] && is_realmd "$pid" "$name"; then
    printf '%s\n' "$pid"
  else
    rm -f "$file"
    return 1
  fi
}

# Polls until PID is gone or DEADLINE_S seconds pass.
wait_gone() {
  local pid=$1 name=$2 deadline=$((SECONDS + $3)) cmdline
  while is_alive "$pid"; do
    # A dying process gives up its memory (its command line reads empty) before it closes its
    # sockets: until it is gone its port is still taken, and a restart would find it so.
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || break
    [[ -z $cmdline || $cmdline == *realmd*"realm-$name.yaml"* ]] || break # the pid was reused
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# Runs a PostgreSQL program as the server's user (initdb refuses root).
as_postgres() {
  if [[ $EUID -eq 0 ]]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# A private PostgreSQL for the demo: run/postgres/data, a Unix socket in run/postgres, no TCP.
postgres_up() {
  [[ -x $postgres_bin/initdb ]] || "$REALMCHAT_SCRIPTS/bootstrap.sh"
  mkdir -p "$postgres_dir"
  chmod 777 "$postgres_dir"
  if [[ ! -f $postgres_dir/data/PG_VERSION ]]; then
    as_postgres "$postgres_bin/initdb" -A trust -U postgres -D "$postgres_dir/data" >/dev/null ||
      die "initdb failed in ${postgres_dir#"$REALMCHAT_ROOT"/}"
  fi
  if ! as_postgres "$postgres_bin/pg_ctl" -D "$postgres_dir/data" status >/dev/null 2>&1; then
    as_postgres "$postgres_bin/pg_ctl" -D "$postgres_dir/data" -w -l "$postgres_dir/pg.log" \
      -o "-k $postgres_dir -p 5432 -c listen_addresses=''" start >/dev/null ||
      die "PostgreSQL did not start; see ${postgres_dir#"$REALMCHAT_ROOT"/}/pg.log"
  fi
  as_postgres "$postgres_bin/psql" -h "$postgres_dir" -p 5432 -U postgres -Atq -c \
    "SELECT 1 FROM pg_database WHERE datname = 'realmchat'" postgres | grep -q 1 ||
    as_postgres "$postgres_bin/createdb" -h "$postgres_dir" -p 5432 -U postgres realmchat
  say "postgres: up, socket in ${postgres_dir#"$REALMCHAT_ROOT"/}"
}

postgres_down() {
  [[ -f $postgres_dir/data/PG_VERSION ]] || return 0
  if as_postgres "$postgres_bin/pg_ctl" -D "$postgres_dir/data" status >/dev/null 2>&1; then
    as_postgres "$postgres_bin/pg_ctl" -D "$postgres_dir/data" -w -m fast stop >/dev/null
    say "postgres: stopped"
  fi
}

# The configs of --store postgres, from the demo's own.
make_postgres_configs() {
  local dir="$REALMCHAT_RUN/config" url
  url="postgresql:///realmchat?host=$postgres_dir&port=5432&user=postgres"
  mkdir -p "$dir"
  for name in alpha beta gamma; do
    sed -E "s/address: 127\.0\.0\.1:9889/address: ['127.0.0.1:9889', '127.0.0.1:9892']/" \
      "$REALMCHAT_ROOT/config/realm-$name.yaml" >"$dir/realm-$name.yaml"
  done
  printf "store: {url: '%s', lease_ms: 3000}\n" "$url" >>"$dir/realm-alpha.yaml"
  sed -E -e 's/^(  listen: 127\.0\.0\.1:)8889/\18892/' -e 's/^(  peer_listen: 127\.0\.0\.1:)9889/\19892/' \
    -e 's/^(  web_listen: 127\.0\.0\.1:)8080/\18083/' \
    "$dir/realm-alpha.yaml" >"$dir/realm-alpha-standby.yaml"
}

# neighbours TOPOLOGY INDEX NAME...: the realms that NAME[INDEX] links to, one a line.
neighbours() {
  local topology=$1 index=$2 i
  shift 2
  local names=("$@")
  case $topology in
    line)
      if ((index > 0)); then printf '%s\n' "${names[index - 1]}"; fi
      if ((index + 1 < ${#names[@]})); then printf '%s\n' "${names[index + 1]}"; fi
      ;;
    mesh)
      for i in "${!names[@]}"; do
        if ((i != index)); then printf '%s\n' "${names[i]}"; fi
      done
      ;;
  esac
}

# make_topology_configs TOPOLOGY DIR NAME...: config/realm-NAME.yaml with its `peers:` replaced
# by the realm's neighbours (both sides dial, as the shipped alpha and beta do), relaying on (the
# default, written out: a line only works through its middle realms) and its own store in
# run/data/TOPOLOGY/NAME, so that peers an earlier run remembered (addrealm, realms that dialled
# in) cannot add links the topology does not have.
make_topology_configs() {
  local topology=$1 dir=$2 index name peer
  shift 2
  local names=("$@")
  mkdir -p "$dir"
  for index in "${!names[@]}"; do
    name=${names[index]}
    local source="$REALMCHAT_ROOT/config/realm-$name.yaml" peers=() lines=""
    [[ -f $source ]] || die "no config for realm '$name': config/realm-$name.yaml is missing"
    mapfile -t peers < <(neighbours "$topology" "$index" "${names[@]}")
    for peer in "${peers[@]}"; do
      lines+="  - {name: $peer, address: $(yaml_value "$REALMCHAT_ROOT/config/realm-$peer.yaml" \
        peer_listen), autoconnect: true}"$'\n'
    done
    {
      printf '# Generated by scripts/cluster.sh up --topology %s %s from config/realm-%s.yaml:\n' \
        "$topology" "${names[*]}" "$name"
      local linked="${peers[*]:-nobody}"
      printf '# %s links to %s at start. Reference: docs/operations.md.\n' "$name" "${linked// /, }"
      # Drops the leading comments (they describe the shipped topology) and the old peers.
      awk -v store="run/data/$topology/$name" -v peers="$lines" '
        !body && /^#/ { next }
        { body = 1 }
        in_peers && /^[[:space:]]/ { next }
        { in_peers = 0 }
        /^peers:/ { printf "peers:\n%s", peers; in_peers = 1; next }
        /^federation:/ { print; print "  relay: true   # carry routed messages between the neighbours"; next }
        /^  data_dir:/ { sub(/data_dir: [^ ]+/, "data_dir: " store) }
        { print }' "$source"
    } >"$dir/realm-$name.yaml"
  done
}

start_realm() {
  local name=$1 config address host port log pid
  config="$(config_file "$name")" || return 1
  address="$(client_address "$name")" || return 1
  host="$(probe_host "$address")"
  port=${address##*:}
  log="$(log_file "$name")"

  if pid="$(running_pid "$name")"; then
    say "$name: already running (pid $pid) on $address"
    return 0
  fi
  if port_open "$host" "$port"; then
    say "$name: $address is taken by another process"
    return 1
  fi
  [[ -x $REALMCHAT_BIN/realmd ]] || "$REALMCHAT_SCRIPTS/build.sh" || return 1
  # The demo configs use TLS with a throwaway CA under run/tls/: made here on first use.
  if [[ "$(yaml_value "$config" certificate)" == run/tls/* ]]; then
    make_demo_certificates "$REALMCHAT_RUN/tls" "${default_realms[@]}"
  fi

  mkdir -p "$REALMCHAT_RUN"
  printf '=== %s: cluster.sh start %s\n' "$(date -u +%FT%TZ)" "$name" >>"$log"
  # Relative paths in the config (data_dir) resolve against the repository root.
  (cd "$REALMCHAT_ROOT" && exec nohup "$REALMCHAT_BIN/realmd" --config "$config" \
    </dev/null >>"$log" 2>&1) &
  pid=$!
  printf '%s\n' "$pid" >"$(pid_file "$name")"

  # Our own child: alive is enough (its command line is not realmd's until it has exec'd).
  # A standby (store on PostgreSQL, another holds the lease) says so instead of listening.
  local deadline=$((SECONDS + start_deadline_s))
  until port_open "$host" "$port" || is_standby "$name"; do
    if ! is_alive "$pid" || ((SECONDS >= deadline)); then
      say "$name: did not start (pid $pid, $address); last lines of ${log#"$REALMCHAT_ROOT"/}:"
      tail -n 20 "$log" >&2
      if is_alive "$pid"; then kill -KILL "$pid"; fi
      rm -f "$(pid_file "$name")"
      return 1
    fi
    sleep 0.1
  done
  if port_open "$host" "$port"; then
    say "$name: up (pid $pid) on $address, log ${log#"$REALMCHAT_ROOT"/}"
  else
    say "$name: standby (pid $pid), serves on $address once it takes the lease"
  fi
}

# True when realm NAME's latest start logged that it waits as a standby and it has not taken
# the lease since.
is_standby() {
  local log
  # shellcheck disable=SC2016  # a sed script, not a shell expansion
  log="$(sed -n '/=== .*cluster.sh start/h; /=== .*cluster.sh start/!H; ${x;p}' "$(log_file "$1")")"
  [[ $log == *"standby: waiting for the lease"* && $log != *"took the lease"* ]]
}

stop_realm() {
  local name=$1 pid
  if ! pid="$(running_pid "$name")"; then
    say "$name: not running"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" "$name" "$stop_deadline_s"; then
    say "$name: still running ${stop_deadline_s}s after SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" "$name" "$stop_deadline_s" || die "$name: pid $pid survived SIGKILL"
  fi
  rm -f "$(pid_file "$name")"
  say "$name: stopped"
}

kill_realm() {
  local name=$1 pid
  if ! pid="$(running_pid "$name")"; then
    say "$name: not running"
    return 0
  fi
  kill -KILL "$pid" 2>/dev/null || true
  wait_gone "$pid" "$name" "$stop_deadline_s" || die "$name: pid $pid survived SIGKILL"
  rm -f "$(pid_file "$name")"
  say "$name: killed (SIGKILL, pid $pid)"
}

show_status() {
  local name=$1 address pid state
  address="$(client_address "$name")" || return 1
  if pid="$(running_pid "$name")"; then
    state=starting
    if port_open "$(probe_host "$address")" "${address##*:}"; then
      state=up
    elif is_standby "$name"; then
      state=standby
    fi
  else
    pid=-
    state=down
  fi
  printf '%-10s %-8s %-22s %s\n' "$name" "$pid" "$address" "$state"
}

# check_topology TOPOLOGY NAME...: a known topology over distinct realm names.
check_topology() {
  local topology=$1
  shift
  [[ $topology == line || $topology == mesh ]] || die "--topology takes: line, mesh"
  [[ "$(printf '%s\n' "$@" | sort | uniq -d)" == "" ]] || die "a realm is named twice: $*"
}

# True when any realm of run/*.pid runs (whatever its config).
any_running() {
  local file
  for file in "$REALMCHAT_RUN"/*.pid; do
    [[ -f $file ]] || continue
    if running_pid "$(basename "$file" .pid)" >/dev/null; then return 0; fi
  done
  return 1
}

# up --topology TOPOLOGY NAME...: generates the configs unless the cluster runs with these.
use_topology() {
  local wanted="$*"
  check_topology "$@"
  on_postgres && die "the cluster runs with --store postgres: 'scripts/cluster.sh down' first"
  if on_topology && [[ "$(<"$topology_file")" == "$wanted" ]]; then return 0; fi
  if any_running; then
    die "realms are running with other links: 'scripts/cluster.sh down' first"
  fi
  rm -f "$REALMCHAT_RUN"/config/realm-*.yaml
  make_topology_configs "$1" "$REALMCHAT_RUN/config" "${@:2}"
  printf '%s\n' "$wanted" >"$topology_file"
  say "topology: $1 (${wanted#* }), configs in run/config"
}

[[ $# -ge 1 ]] || { usage >&2; exit 2; }
command=$1
shift
if [[ $command == configs ]]; then
  (($# >= 2)) || die "configs needs a topology and a directory"
  topology=$1 dir=$2
  shift 2
  (($#)) || set -- "${default_realms[@]}"
  check_topology "$topology" "$@"
  make_topology_configs "$topology" "$dir" "$@"
  exit 0
fi
if [[ $command == up && ${1:-} == --topology ]]; then
  topology=${2:-}
  shift 2 || die "--topology takes: line, mesh"
  [[ " $* " != *" --store "* ]] || die "--topology and --store postgres do not combine"
  (($#)) || set -- "${default_realms[@]}"
  use_topology "$topology" "$@"
elif [[ $command == up ]] && on_topology; then
  say "the cluster runs with --topology $(<"$topology_file") until 'scripts/cluster.sh down'"
fi
if [[ $command == up && ${1:-} == --store ]]; then
  [[ ${2:-} == postgres ]] || die "--store takes: postgres"
  on_topology && die "the cluster runs with --topology: 'scripts/cluster.sh down' first"
  shift 2
  postgres_up
  make_postgres_configs
  printf 'postgres\n' >"$store_mode_file"
elif [[ $command == up ]] && on_postgres; then
  say "the cluster runs with --store postgres until 'scripts/cluster.sh down'"
fi
on_postgres && default_realms=("${postgres_realms[@]}")
if on_topology; then
  read -r _ topology_names <"$topology_file"
  read -r -a default_realms <<<"$topology_names"
fi
case $command in
  up | down | status) (($#)) || set -- "${default_realms[@]}" ;;
  start | stop | kill) (($#)) || die "$command needs a realm name" ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; die "unknown command: $command" ;;
esac

# Check every name first: the loops below run in `||` context, where set -e is off.
for name in "$@"; do client_address "$name" >/dev/null; done

status=0
case $command in
  up | start) for name in "$@"; do start_realm "$name" || status=1; done ;;
  down | stop)
    for name in "$@"; do stop_realm "$name" || status=1; done
    # `down` of the whole cluster ends the --store postgres run and its database server.
    if [[ $command == down && $# -eq ${#default_realms[@]} ]] && on_postgres; then
      postgres_down
      rm -f "$store_mode_file"
    fi
    # ... and the --topology run: the next `up` uses the shipped configs again.
    if [[ $command == down && $# -eq ${#default_realms[@]} ]]; then rm -f "$topology_file"; fi
    ;;
  kill) for name in "$@"; do kill_realm "$name" || status=1; done ;;
  status)
    printf '%-10s %-8s %-22s %s\n' REALM PID CLIENTS STATE
    for name in "$@"; do show_status "$name" || status=1; done
    ;;
esac
exit "$status"
