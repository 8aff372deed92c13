#!/usr/bin/env bash
# Runs chatbench against realmd, Redis (RPUSH, persistence off), the null server, (send p16)
# realmd over TLS and (route) a line of four realms on loopback, alternating, and prints a table
# (medians, ranges over rounds, server and client CPU per request) with the ratios and the
# targets of docs/performance.md. Every run gets fresh server processes.
#   scripts/bench.sh            3 rounds of 5 s per workload; idle holds 10,000 connections
#   scripts/bench.sh --smoke    1 round of 1 s, 500 idle connections, a history store of
#                               20,000 messages, the PostgreSQL rows (--store postgres): checks
#                               only that every run finished without errors (CI); about a minute
#   scripts/bench.sh --restart  the restart target only: 1,000,000 unread messages sent
#                               through realmd, then time to listening and RSS on restart
#   scripts/bench.sh --takeover [--lease-ms N] [--messages N]
#                               the failover target only: a realm on a private PostgreSQL with
#                               1,000,000 unread messages and a standby; the holder is killed
#                               (kill -9), then the time until the standby serves
#   scripts/bench.sh --store postgres
#                               also `send` (p1, p16) against realmd on PostgreSQL (a private
#                               server the script starts and stops), beside the SQLite rows
# Options: --bin DIR (binaries; default build/bin), --rounds N, --duration S,
#          --only W[,W..] (send inbox sendgroup realm route auth idle history), --keep (keep
#          run/bench/PID), --history-priority adaptive|background|normal (the realms'
#          history reader_priority; default: the config's default, adaptive)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '2,22s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

bin_dir="$REALMCHAT_BIN"
mode=full
rounds=3
duration=5
idle_connections=10000
idle_hold=5
only=""
keep=false
postgres_rows=false
history_priority=""
lease_ms=3000
connections=50
restart_messages=1000000
history_messages=1000000
start_deadline_s=30
stop_deadline_s=30

while [[ $# -gt 0 ]]; do
  case $1 in
    --smoke) mode=smoke rounds=1 duration=1 idle_connections=500 idle_hold=0.5 history_messages=20000
      postgres_rows=true ;;
    --restart) mode=restart ;;
    --takeover) mode=takeover ;;
    --lease-ms) lease_ms=$2; shift ;;
    --messages) restart_messages=$2; shift ;;
    --bin) bin_dir=$(cd "$2" && pwd); shift ;;
    --rounds) rounds=$2; shift ;;
    --duration) duration=$2; shift ;;
    --only) only=",$2," ; shift ;;
    --keep) keep=true ;;
    --history-priority) history_priority=$2; shift ;;
    --store) [[ $2 == postgres ]] || die "--store: only postgres (SQLite always runs)"; postgres_rows=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  shift
done

chatbench="$bin_dir/chatbench"
realmd="$bin_dir/realmd"
[[ -x $chatbench && -x $realmd ]] || die "no chatbench/realmd in $bin_dir: run scripts/build.sh"

work="$REALMCHAT_RUN/bench/$$"
mkdir -p "$work"
results="$work/results.tsv"
: >"$results"
pids=()
failures=()

# Everything started here is stopped on exit, by pid.
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  stop_postgres
  if $keep || [[ ${#failures[@]} -gt 0 ]]; then
    say "bench: logs and data kept in ${work#"$REALMCHAT_ROOT"/}"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

is_alive() {
  local state
  state="$(sed -E 's/^.*\) (.).*$/\1/' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n $state && $state != Z ]]
}

# Polls FILE until it has a line matching REGEX; fails when PID exits or the deadline passes.
wait_for_line() {
  local file=$1 regex=$2 pid=$3 deadline=$((SECONDS + start_deadline_s))
  until grep -qE "$regex" "$file" 2>/dev/null; do
    is_alive "$pid" || { say "bench: process $pid exited; its log:"; cat "$file" >&2; return 1; }
    ((SECONDS < deadline)) || { say "bench: no '$regex' in $file"; return 1; }
    sleep 0.02
  done
}

# SIGTERM, then SIGKILL once the deadline passes; the pid leaves the list.
stop_process() {
  local pid=$1 deadline=$((SECONDS + stop_deadline_s)) kept=() p
  kill "$pid" 2>/dev/null || true
  while is_alive "$pid" && ((SECONDS < deadline)); do sleep 0.02; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${pids[@]}"; do [[ $p == "$pid" ]] || kept+=("$p"); done
  pids=("${kept[@]}")
}

# A TCP port nobody listens on, below the kernel's ephemeral range (no outgoing connection
# takes it meanwhile). Used only for Redis, which cannot pick its own (port 0 = no TCP).
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 12000))
    ss -Htln "sport = :$port" | grep -q . || { echo "$port"; return; }
  done
}

# --- servers: each sets server_pid and server_port ---

# realm_config NAME DIR [PEER_NAME PEER_PORT AUTOCONNECT] [MAX_CONNECTIONS]: the bench realm:
# ports chosen by the kernel (logged), store as shipped (durability: process), cheap hashes.
realm_config() {
  local name=$1 dir=$2 peer=${3:-} peer_port=${4:-} autoconnect=${5:-} max_connections=${6:-10000}
  mkdir -p "$dir"
  {
    echo "realm: {name: $name, listen: 127.0.0.1:0, peer_listen: 127.0.0.1:0, data_dir: $dir/data}"
    echo "federation: {secret: bench-secret}"
    if [[ -n $peer ]]; then
      echo "peers: [{name: $peer, address: 127.0.0.1:$peer_port, autoconnect: $autoconnect}]"
    fi
    echo "limits: {max_connections: $max_connections}"
    echo "durability: process"
    echo "password_cost: min"
    if [[ -n ${store_url:-} ]]; then echo "store: {url: '$store_url', lease_ms: $lease_ms}"; fi
    if [[ -n $history_priority ]]; then echo "history: {reader_priority: $history_priority}"; fi
    if [[ ${tls_for_clients:-false} == true ]]; then
      echo "tls: {certificate: $tls_dir/server.crt, key: $tls_dir/server.key,"
      echo "      ca: $tls_dir/ca.crt, clients: true, peers: false}"
    fi
  } >"$dir/realm.yaml"
}

# A throwaway CA and a certificate for 127.0.0.1 (the openssl command), made once per run;
# fails (the TLS row is skipped) without openssl.
tls_dir=""
ensure_tls_files() {
  [[ -n $tls_dir ]] && return 0
  if ! command -v openssl >/dev/null; then
    say "bench: no openssl command: the TLS row is skipped"
    return 1
  fi
  local dir="$work/tls"
  mkdir -p "$dir"
  (
    cd "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
      -subj '/CN=realmchat bench CA' -keyout ca.key -out ca.crt
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj '/CN=bench' \
      -keyout server.key -out server.csr
    printf '%s\n' 'subjectAltName=DNS:bench,IP:127.0.0.1' \
      'extendedKeyUsage=serverAuth,clientAuth' 'basicConstraints=CA:FALSE' >server.ext
    openssl x509 -req -days 1 -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -extfile server.ext -out server.crt
    chmod 600 server.key ca.key
  ) >"$dir/openssl.log" 2>&1 || {
    say "bench: making the TLS certificates failed"
    cat "$dir/openssl.log" >&2
    return 1
  }
  tls_dir=$dir
}

start_realmd() {
  local name=$1 dir=$2
  "$realmd" --config "$dir/realm.yaml" >"$dir/realmd.log" 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  wait_for_line "$dir/realmd.log" "realm $name: clients (\(TLS\) )?on " "$server_pid"
  server_port="$(sed -n -E "s/.*realm $name: clients (\(TLS\) )?on [^ ]*:([0-9]+).*/\2/p" \
    "$dir/realmd.log")"
  peer_port="$(sed -n -E "s/.*realm $name: peers on [^ ]*:([0-9]+).*/\1/p" "$dir/realmd.log")"
}

start_null() {
  local dir=$1
  mkdir -p "$dir"
  "$chatbench" --serve-null 0 >"$dir/null.log" 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  wait_for_line "$dir/null.log" "null server on " "$server_pid"
  server_port="$(sed -n -E 's/.*null server on [^ ]*:([0-9]+).*/\1/p' "$dir/null.log")"
}

redis_ready=unknown
ensure_redis() {
  [[ $redis_ready != unknown ]] && { [[ $redis_ready == yes ]]; return; }
  if ! command -v redis-server >/dev/null; then
    say "bench: installing redis-server (Debian package)"
    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -q)
    # In a subshell: as_root exits when there is neither root nor sudo; that only skips Redis.
    if ! (as_root "${apt[@]}" install -y --no-install-recommends redis-server >/dev/null ||
      { as_root "${apt[@]}" update >/dev/null &&
        as_root "${apt[@]}" install -y --no-install-recommends redis-server >/dev/null; }); then
      say "bench: redis-server could not be installed: the Redis rows are skipped"
    fi
  fi
  if command -v redis-server >/dev/null; then redis_ready=yes; else redis_ready=no; fi
  [[ $redis_ready == yes ]]
}

start_redis() {
  local dir=$1 try
  mkdir -p "$dir"
  for try in 1 2 3; do
    server_port="$(free_port)"
    # Persistence off: no RDB snapshots, no AOF. One thread, as realmd's event loop.
    redis-server --port "$server_port" --bind 127.0.0.1 --save "" --appendonly no \
      --protected-mode no --daemonize no --dir "$dir" >"$dir/redis.log" 2>&1 &
    server_pid=$!
    pids+=("$server_pid")
    local deadline=$((SECONDS + start_deadline_s))
    while is_alive "$server_pid" && ((SECONDS < deadline)); do
      grep -q "Ready to accept connections" "$dir/redis.log" && return 0
      sleep 0.02
    done
    stop_process "$server_pid" # the port was taken meanwhile, or it hung: try another
    ((try < 3)) || { cat "$dir/redis.log" >&2; return 1; }
  done
}

# --- PostgreSQL (--store postgres): a private server for the run ---

# As in the tests (tests/support/postgres_server.cpp): initdb and pg_ctl as the `postgres`
# user when root (initdb refuses root), a Unix socket in the run's directory, no TCP. Settings
# as Debian ships them (fsync and synchronous_commit on): every commit batch is flushed.
postgres_bin=${REALMCHAT_PG_BIN:-/usr/lib/postgresql/15/bin}
postgres_dir=""
postgres_running=false
postgres_cpu="" # the file of PostgreSQL's CPU per request, one line per run

as_postgres() {
  if [[ $EUID -eq 0 ]]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

start_postgres() {
  [[ -n $postgres_dir ]] && { $postgres_running; return; }
  postgres_dir="$work/postgres"
  postgres_cpu="$work/postgres-cpu.tsv"
  mkdir -p "$postgres_dir"
  chmod 777 "$postgres_dir"
  if [[ ! -x $postgres_bin/initdb ]]; then
    say "bench: no PostgreSQL in $postgres_bin (scripts/bootstrap.sh installs postgresql-15)"
    return 1
  fi
  as_postgres "$postgres_bin/initdb" --no-sync -A trust -U postgres -D "$postgres_dir/data" \
    >"$postgres_dir/initdb.log" 2>&1 || { cat "$postgres_dir/initdb.log" >&2; return 1; }
  as_postgres "$postgres_bin/pg_ctl" -D "$postgres_dir/data" -w -l "$postgres_dir/pg.log" \
    -o "-k $postgres_dir -p 5432 -c listen_addresses='' -c max_connections=100 ${REALMCHAT_BENCH_PG_OPTIONS:-}" start \
    >/dev/null || { cat "$postgres_dir/pg.log" >&2; return 1; }
  postgres_running=true
  say "bench: PostgreSQL $("$postgres_bin/postgres" --version | awk '{ print $3 }') up in ${postgres_dir#"$REALMCHAT_ROOT"/}"
}

stop_postgres() {
  $postgres_running || return 0
  as_postgres "$postgres_bin/pg_ctl" -D "$postgres_dir/data" -w -m fast stop >/dev/null 2>&1 ||
    as_postgres "$postgres_bin/pg_ctl" -D "$postgres_dir/data" -m immediate stop >/dev/null 2>&1 ||
    true
  postgres_running=false
}

# NAME: a new database for one run (a fresh realm, as each SQLite run gets a fresh data_dir);
# prints its URI.
new_postgres_database() {
  local name=$1
  as_postgres "$postgres_bin/createdb" -h "$postgres_dir" -p 5432 -U postgres "$name" || return 1
  echo "postgresql:///$name?host=$postgres_dir&port=5432&user=postgres"
}

# CPU time (clock ticks) of the server's processes: the postmaster, its children now, and its
# children that exited (cutime, cstime).
postgres_cpu_ticks() {
  local postmaster pid total=0
  postmaster="$(head -n 1 "$postgres_dir/data/postmaster.pid")"
  for pid in "$postmaster" $(ps -o pid= --ppid "$postmaster"); do
    total=$((total + $(sed -E 's/^.*\) //' "/proc/$pid/stat" 2>/dev/null |
      awk -v main=$((pid == postmaster)) '{ print $12 + $13 + (main ? $14 + $15 : 0) }' ||
      echo 0)))
  done
  echo "$total"
}

# send against realmd on PostgreSQL ("realmd-pg"), the realm as bench_realmd's otherwise; the
# server CPU of the row is realmd's, PostgreSQL's is printed beside it (print_postgres_targets).
bench_realmd_postgres() {
  local pipeline=$1 round=$2 dir url before after
  start_postgres || { failures+=("send on PostgreSQL: PostgreSQL did not start"); return 0; }
  url="$(new_postgres_database "bench_r${round}_p$pipeline")" || { failures+=("send on PostgreSQL: createdb failed"); return 0; }
  dir="$(run_dir realmd-pg)"
  store_url=$url realm_config bench "$dir"
  start_realmd bench "$dir" || { failures+=("send on PostgreSQL: realmd did not start"); return 0; }
  before="$(postgres_cpu_ticks)"
  bench send "$pipeline" realmd-pg "$round" --port "$server_port" --server-pid "$server_pid" \
    --connections "$connections"
  after="$(postgres_cpu_ticks)"
  stop_process "$server_pid"
  local requests
  requests="$(awk -F'\t' -v p="$pipeline" -v r="$round" \
    '$1 == "send" && $2 == p && $3 == "realmd-pg" && $4 == r { print $5 }' "$results")"
  [[ -n $requests && $requests != - ]] || return 0
  # requests_per_s x duration: the measured requests (the setup's few logins count in the CPU).
  awk -v p="$pipeline" -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v rate="$requests" \
    -v d="$duration" 'BEGIN { printf "%s\t%.2f\n", p, t * 1e6 / hz / (rate * d) }' >>"$postgres_cpu"
}

us() { awk -v v="$1" 'BEGIN { if (v == "-") print "-"; else printf "%.2f", v }'; }

# The PostgreSQL target of docs/performance.md, of medians taken in this run.
print_postgres_targets() {
  $postgres_rows || return 0
  local p pg sqlite pg_cpu
  printf '\n%-46s %10s %10s %s\n' "PostgreSQL store (same run)" measured goal verdict
  for p in 1 16; do
    pg="$(median send "$p" realmd-pg 5)" sqlite="$(median send "$p" realmd 5)"
    pg_cpu="-"
    [[ -s $postgres_cpu ]] && pg_cpu="$(awk -F'\t' -v p="$p" '$1 == p { print $2 }' \
      "$postgres_cpu" | sort -g | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : "-" }')"
    if ((p == 16)); then
      printf '%-46s %10s %10s %s\n' "send p16: PostgreSQL / SQLite store" \
        "$(ratio "$pg" "$sqlite")" ">= 0.5" "$(verdict "$(ratio "$pg" "$sqlite")" ">=" 0.5)"
    else
      printf '%-46s %10s %10s %s\n' "send p1: PostgreSQL / SQLite store" "$(ratio "$pg" "$sqlite")" \
        "report" ""
    fi
    printf '%-46s %10s %10s %s\n' "send p$p: server CPU us/req, SQLite: realmd" \
      "$(us "$(median send "$p" realmd 13)")" "report" ""
    printf '%-46s %10s %10s %s\n' "send p$p: server CPU us/req, PG: realmd+postgres" \
      "$(us "$(median send "$p" realmd-pg 13)")+$pg_cpu" "report" ""
  done
}

# --- runs ---

# record WORKLOAD PIPELINE TARGET ROUND JSON: one row of results.tsv.
json_number() { sed -n -E "s/.*\"$1\":([0-9.eE+-]+).*/\1/p" <<<"$2"; }
record() {
  local json=$5 field row=("$1" "$2" "$3" "$4")
  for field in requests_per_s deliveries_per_s p50_us p99_us p999_us errors server_rss_kb \
    answering server_cpu_us_per_request client_cpu_us_per_request path_cpu_us_per_request; do
    local value
    value="$(json_number "$field" "$json")"
    row+=("${value:--}")
  done
  (IFS=$'\t'; echo "${row[*]}") >>"$results"
}

# bench WORKLOAD PIPELINE TARGET ROUND CHATBENCH_ARGS...: runs chatbench, records its line.
bench() {
  local workload=$1 pipeline=$2 target=$3 round=$4 output rc=0
  shift 4
  say "bench: round $round: $workload, pipeline $pipeline, against $target"
  output="$("$chatbench" --workload "$workload" --pipeline "$pipeline" --label "$target" \
    --duration "$duration" "$@" 2>&1)" || rc=$?
  local json
  json="$(grep '^{"bench"' <<<"$output" || true)"
  if [[ $rc -ne 0 || -z $json ]]; then
    failures+=("$workload p$pipeline $target: $(grep -v '^{"bench"' <<<"$output" | tail -n 3 | tr '\n' ' ')")
    printf '%s\n' "$output" >&2
  fi
  if [[ $mode == smoke ]]; then
    grep 'note:' <<<"$output" >&2 || true
  else
    grep -v '^{"bench"' <<<"$output" | sed 's/^/    /' >&2
  fi
  if [[ -n $json ]]; then record "$workload" "$pipeline" "$target" "$round" "$json"; fi
}

run_dir() { mktemp -d "$work/$1.XXXX"; }

# bench_realmd WORKLOAD PIPELINE ROUND [CHATBENCH_ARGS...]: a fresh realm for one run.
bench_realmd() {
  local workload=$1 pipeline=$2 round=$3 dir
  shift 3
  dir="$(run_dir "realmd-$workload")"
  realm_config bench "$dir"
  start_realmd bench "$dir" || { failures+=("$workload: realmd did not start"); return 0; }
  bench "$workload" "$pipeline" realmd "$round" --port "$server_port" --server-pid "$server_pid" \
    --connections "$connections" "$@"
  stop_process "$server_pid"
}

bench_redis() {
  local pipeline=$1 round=$2 dir
  ensure_redis || return 0
  dir="$(run_dir redis)"
  start_redis "$dir" || { failures+=("redis did not start"); return 0; }
  bench send "$pipeline" redis "$round" --redis --port "$server_port" --server-pid "$server_pid" \
    --connections "$connections"
  stop_process "$server_pid"
}

# send over TLS (tls.clients) against a realmd like bench_realmd's; chatbench verifies the
# server's certificate against the run's CA.
bench_realmd_tls() {
  local pipeline=$1 round=$2 dir
  ensure_tls_files || return 0
  dir="$(run_dir realmd-tls)"
  tls_for_clients=true realm_config bench "$dir"
  start_realmd bench "$dir" || { failures+=("send over TLS: realmd did not start"); return 0; }
  bench send "$pipeline" realmd-tls "$round" --port "$server_port" --server-pid "$server_pid" \
    --connections "$connections" --tls --tls-ca "$tls_dir/ca.crt"
  stop_process "$server_pid"
}

bench_null() {
  local pipeline=$1 round=$2 dir
  dir="$(run_dir null)"
  start_null "$dir" || { failures+=("the null server did not start"); return 0; }
  bench send "$pipeline" null "$round" --port "$server_port" --server-pid "$server_pid" \
    --connections "$connections"
  stop_process "$server_pid"
}

# Two linked realms: alpha's users send to beta's. beta starts first (its peer port is then
# known); alpha dials it. beta names alpha without dialing it (it accepts alpha's link).
bench_realm_pair() {
  local pipeline=$1 round=$2 beta alpha beta_pid beta_port
  beta="$(run_dir realm-beta)"
  alpha="$(run_dir realm-alpha)"
  realm_config beta "$beta" alpha 1 false
  start_realmd beta "$beta" || { failures+=("realm: beta did not start"); return 0; }
  beta_pid=$server_pid beta_port=$server_port
  realm_config alpha "$alpha" beta "$peer_port" true
  start_realmd alpha "$alpha" || { failures+=("realm: alpha did not start"); return 0; }
  if ! wait_for_line "$alpha/realmd.log" "linked to realm beta" "$server_pid"; then
    failures+=("realm: alpha did not link to beta")
  fi
  bench realm "$pipeline" realmd-pair "$round" --port "$server_port" --server-pid "$server_pid" \
    --connections "$connections" --remote-port "$beta_port" --remote-realm beta
  stop_process "$server_pid"
  stop_process "$beta_pid"
}

# route: a line of four realms a-b-c-d, each linked only to the next (started from d, so that
# each dials the next one's peer port); a's users send to d's: three hops, every hop storing
# before it acknowledges (docs/protocol.md §2, Routing). Counted as the `realm` row counts:
# sends acknowledged by d. cpu_us/req is a's; the path CPU is b, c and d together.
bench_realm_line() {
  local pipeline=$1 round=$2 name next="" next_port="" dir line_pids=() d_port="" pid
  for name in d c b a; do
    dir="$(run_dir "line-$name")"
    realm_config "$name" "$dir" "$next" "$next_port" true
    if ! start_realmd "$name" "$dir"; then
      failures+=("route: realm $name did not start")
      for pid in "${line_pids[@]}"; do stop_process "$pid"; done
      return 0
    fi
    line_pids+=("$server_pid")
    [[ -n $d_port ]] || d_port=$server_port
    next=$name next_port=$peer_port
  done
  # Routes spread one hop per announcement, each way: wait until a lists d as routed and d
  # lists a (d must hold a's signing key, learnt with a's path, or it refuses a's messages).
  if wait_for_route "$server_port" d && wait_for_route "$d_port" a; then
    bench realm "$pipeline" realmd-line4 "$round" --port "$server_port" --server-pid "$server_pid" \
      --connections "$connections" --remote-port "$d_port" --remote-realm d \
      --path-pid "${line_pids[0]}" --path-pid "${line_pids[1]}" --path-pid "${line_pids[2]}"
  else
    failures+=("route: realm a has no route to d")
  fi
  for pid in "${line_pids[@]}"; do stop_process "$pid"; done
}

# wait_for_route PORT DEST: polls the `realms` of the realm on PORT (as a user of its own) until
# it lists DEST as routed; fails after the start deadline.
wait_for_route() {
  local port=$1 dest=$2 deadline=$((SECONDS + start_deadline_s)) reply=""
  local chatclient="$bin_dir/chatclient"
  [[ -x $chatclient ]] || { say "bench: no chatclient in $bin_dir"; return 1; }
  until [[ $reply == *"{\"name\":\"$dest\",\"state\":\"routed\""* ]]; do
    ((SECONDS < deadline)) || { say "bench: no route to $dest: $reply"; return 1; }
    sleep 0.05
    reply="$("$chatclient" --connect "127.0.0.1:$port" --json -c \
      "register routeprobe benchpw Route_Probe Benchland" -c "auth routeprobe benchpw" \
      -c realms </dev/null 2>&1)" || true
  done
}

bench_idle() {
  local round=$1 dir needed=$((idle_connections * 2 + 1000))
  if (($(ulimit -n) < needed)); then
    ulimit -n "$needed" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
  fi
  dir="$(run_dir realmd-idle)"
  realm_config bench "$dir" "" "" "" $((idle_connections + 100))
  start_realmd bench "$dir" || { failures+=("idle: realmd did not start"); return 0; }
  local saved=$duration
  duration=$idle_hold
  bench idle 1 realmd "$round" --port "$server_port" --server-pid "$server_pid" \
    --connections "$idle_connections"
  duration=$saved
  stop_process "$server_pid"
}

# History: a realm whose store holds $history_messages messages (written directly by
# chatbench --fill-history before realmd starts), 50 conversations of the bench users. On it:
# `send` p1 alone (the baseline), `history` p16 alone (random pages of 50: pages/s), then both
# at once: the p99 of that `send` says whether history reads slow other clients down.
bench_history() {
  local round=$1 dir
  dir="$(run_dir realmd-history)"
  realm_config bench "$dir"
  say "bench: round $round: filling a history of $history_messages messages"
  "$chatbench" --fill-history "$history_messages" --users "$connections" \
    --data-dir "$dir/data" >"$dir/fill.log" 2>&1 || { cat "$dir/fill.log" >&2;
    failures+=("history: filling the store failed"); return 0; }
  start_realmd bench "$dir" || { failures+=("history: realmd did not start"); return 0; }
  local common=(--port "$server_port" --connections "$connections")
  local history_args=(--history-messages "$history_messages")
  bench send 1 realmd-history-store "$round" "${common[@]}" --server-pid "$server_pid"
  bench history 16 realmd "$round" "${common[@]}" --server-pid "$server_pid" "${history_args[@]}"
  say "bench: round $round: history, pipeline 16, with send p1 beside it"
  local history_out="$dir/history.out" send_out="$dir/send.out" history_rc=0 send_rc=0
  "$chatbench" --workload history --pipeline 16 --label realmd+send --duration "$duration" \
    "${common[@]}" "${history_args[@]}" >"$history_out" 2>&1 &
  local history_pid=$!
  "$chatbench" --workload send --pipeline 1 --label realmd+history --duration "$duration" \
    "${common[@]}" >"$send_out" 2>&1 || send_rc=$?
  wait "$history_pid" || history_rc=$?
  local run file rc what json
  for run in "$history_out:$history_rc:history 16 realmd+send" \
    "$send_out:$send_rc:send 1 realmd+history"; do
    IFS=: read -r file rc what <<<"$run"
    json="$(grep '^{"bench"' "$file" || true)"
    if [[ $rc -ne 0 || -z $json ]]; then
      failures+=("$what: $(grep -v '^{"bench"' "$file" | tail -n 3 | tr '\n' ' ')")
      cat "$file" >&2
    fi
    [[ $mode == smoke ]] || grep -v '^{"bench"' "$file" | sed 's/^/    /' >&2
    # shellcheck disable=SC2086 # $what is three fields: workload pipeline target
    [[ -z $json ]] || record $what "$round" "$json"
  done
  stop_process "$server_pid"
}

wanted() { [[ -z $only || $only == *",$1,"* ]]; }

run_workloads() {
  local round pipeline
  for ((round = 1; round <= rounds; round++)); do
    for pipeline in 1 16; do
      if wanted send; then
        bench_realmd send "$pipeline" "$round"
        bench_redis "$pipeline" "$round"
        bench_null "$pipeline" "$round"
        if ((pipeline == 16)); then bench_realmd_tls "$pipeline" "$round"; fi
        if $postgres_rows; then bench_realmd_postgres "$pipeline" "$round"; fi
      fi
      if wanted realm; then bench_realm_pair "$pipeline" "$round"; fi
      if wanted route && ((pipeline == 16)); then bench_realm_line "$pipeline" "$round"; fi
      if wanted sendgroup; then bench_realmd sendgroup "$pipeline" "$round"; fi
    done
    if wanted inbox; then bench_realmd inbox 16 "$round"; fi
    if wanted auth; then bench_realmd auth 16 "$round"; fi
    if wanted idle; then bench_idle "$round"; fi
    if wanted history; then bench_history "$round"; fi
  done
}

# --- the table ---

# values WORKLOAD PIPELINE TARGET COLUMN: the column's values over rounds, one a line, sorted.
values() {
  awk -F'\t' -v w="$1" -v p="$2" -v t="$3" -v c="$4" \
    '$1 == w && $2 == p && $3 == t && $c != "-" { print $c }' "$results" | sort -g
}
# median WORKLOAD PIPELINE TARGET COLUMN: the median over rounds ("-" when not measured).
median() {
  values "$@" | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else print v[int((NR + 1) / 2)] }'
}
# range WORKLOAD PIPELINE TARGET COLUMN SCALE FORMAT: "min-max" over rounds, each / SCALE.
range() {
  values "$1" "$2" "$3" "$4" | awk -v k="$5" -v f="$6" '{ v[NR] = $1 }
    END { if (NR < 2) print ""; else printf "(" f "-" f ")", v[1] / k, v[NR] / k }'
}
sum_errors() {
  awk -F'\t' -v w="$1" -v p="$2" -v t="$3" \
    '$1 == w && $2 == p && $3 == t { s += $10 } END { print s + 0 }' "$results"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.3f", a / b }'; }
# verdict VALUE OP GOAL: PASS / MISS for a measured value against its goal.
verdict() {
  awk -v v="$1" -v op="$2" -v g="$3" 'BEGIN {
    if (v == "-") { print "n/a"; exit }
    ok = (op == ">=") ? (v >= g) : (op == "<=") ? (v <= g) : (v < g); print ok ? "PASS" : "MISS" }'
}

# Medians over rounds, with the range (min-max) of the rates and of the server's CPU per request
# when there was more than one round. cpu_us/req: the server's (all its threads); client_us:
# chatbench's own, so that a reader sees whether the client bounds a row.
print_table() {
  local workload pipeline target
  printf '\n%-10s %4s %-12s %24s %12s %7s %7s %7s %6s %7s %6s %22s %9s\n' workload pipe target \
    "req/s (range)" deliveries/s p50_ms p99_ms p999_ms errors rss_MiB answer \
    "cpu_us/req (range)" client_us
  while IFS=$'\t' read -r workload pipeline target; do
    local req del p50 p99 p999 rss ans cpu client req_range cpu_range
    req="$(median "$workload" "$pipeline" "$target" 5)"
    req_range="$(range "$workload" "$pipeline" "$target" 5 1000 "%.0fk")"
    del="$(median "$workload" "$pipeline" "$target" 6)"
    p50="$(median "$workload" "$pipeline" "$target" 7)"
    p99="$(median "$workload" "$pipeline" "$target" 8)"
    p999="$(median "$workload" "$pipeline" "$target" 9)"
    rss="$(median "$workload" "$pipeline" "$target" 11)"
    ans="$(median "$workload" "$pipeline" "$target" 12)"
    cpu="$(median "$workload" "$pipeline" "$target" 13)"
    cpu_range="$(range "$workload" "$pipeline" "$target" 13 1 "%.1f")"
    client="$(median "$workload" "$pipeline" "$target" 14)"
    awk -v w="$workload" -v p="$pipeline" -v t="$target" -v r="$req" -v rr="$req_range" \
      -v d="$del" -v a="$p50" -v b="$p99" -v c="$p999" \
      -v e="$(sum_errors "$workload" "$pipeline" "$target")" -v m="$rss" -v n="$ans" -v u="$cpu" \
      -v ur="$cpu_range" -v cl="$client" \
      'function f(x, s, k) { return x == "-" ? "-" : sprintf(s, x / k) }
      BEGIN { printf "%-10s %4s %-12s %24s %12s %7s %7s %7s %6s %7s %6s %22s %9s\n", w, p, t,
        f(r, "%.0f", 1) " " rr, f(d, "%.0f", 1), f(a, "%.2f", 1000), f(b, "%.2f", 1000),
        f(c, "%.2f", 1000), e, f(m, "%.1f", 1024), n, f(u, "%.2f", 1) " " ur, f(cl, "%.2f", 1) }'
  done < <(cut -f1-3 "$results" | awk '!seen[$0]++')
  print_targets
}

# The targets of docs/performance.md; every ratio is of medians taken in this run.
print_targets() {
  local send1 send16 redis1 redis16 null16 tls16 realm1 realm16 group idle_rss idle_ans
  send1="$(median send 1 realmd 5)" send16="$(median send 16 realmd 5)"
  redis1="$(median send 1 redis 5)" redis16="$(median send 16 redis 5)"
  null16="$(median send 16 null 5)" tls16="$(median send 16 realmd-tls 5)"
  realm1="$(median realm 1 realmd-pair 6)" realm16="$(median realm 16 realmd-pair 6)"
  group="$(median sendgroup 16 realmd 6)"
  [[ $group == - ]] || group="$(printf "%.0f" "$group")"
  idle_rss="$(median idle 1 realmd 11)" idle_ans="$(median idle 1 realmd 12)"
  printf '\n%-46s %10s %10s %s\n' target measured goal verdict
  target_row() { printf '%-46s %10s %10s %s\n' "$1" "$2" "$3" "$(verdict "$2" "$4" "$5")"; }
  target_row "send p1: realmd / redis" "$(ratio "$send1" "$redis1")" ">= 1.0" ">=" 1.0
  target_row "send p16: realmd / redis" "$(ratio "$send16" "$redis16")" ">= 1.0" ">=" 1.0
  target_row "send p1: server CPU/req, realmd / redis" \
    "$(ratio "$(median send 1 realmd 13)" "$(median send 1 redis 13)")" "<= 1.2" "<=" 1.2
  target_row "send p16: server CPU/req, realmd / redis" \
    "$(ratio "$(median send 16 realmd 13)" "$(median send 16 redis 13)")" "<= 1.2" "<=" 1.2
  target_row "send p1: p99, realmd / redis" \
    "$(ratio "$(median send 1 realmd 8)" "$(median send 1 redis 8)")" "<= 1.5" "<=" 1.5
  printf '%-46s %10s %10s %s\n' "send p16: realmd / null server" "$(ratio "$send16" "$null16")" \
    "report" "(the ceiling of this client and kernel)"
  target_row "send p16: TLS / plain" "$(ratio "$tls16" "$send16")" ">= 0.7" ">=" 0.7
  target_row "realm p1: delivered / local send p1" "$(ratio "$realm1" "$send1")" ">= 0.5" ">=" 0.5
  target_row "realm p16: delivered / local send p16" "$(ratio "$realm16" "$send16")" ">= 0.5" ">=" 0.5
  local line16
  line16="$(median realm 16 realmd-line4 6)"
  target_row "route p16, 3 hops (a-b-c-d): delivered / local" "$(ratio "$line16" "$send16")" \
    ">= 0.3" ">=" 0.3
  # CPU per delivered message in microseconds: the sender's, and the three other realms'.
  local one_decimal='function f(x) { return x == "-" ? "-" : sprintf("%.1f", x) }'
  printf '%-46s %10s %10s %s\n' "route p16: CPU/req (us), a / b+c+d together" \
    "$(awk -v a="$(median realm 16 realmd-line4 13)" -v b="$(median realm 16 realmd-line4 15)" \
      "$one_decimal"' BEGIN { print f(a) "/" f(b) }')" "report" \
    "(local send p16: $(awk -v a="$(median send 16 realmd 13)" "$one_decimal"' BEGIN { print f(a) }'))"
  target_row "sendgroup p16 (100 members): deliveries/s" "$group" ">= 1000000" ">=" 1000000
  local history16 send_alone send_beside
  history16="$(median history 16 realmd 5)"
  [[ $history16 == - ]] || history16="$(printf "%.0f" "$history16")"
  send_alone="$(median send 1 realmd-history-store 8)"
  send_beside="$(median send 1 realmd+history 8)"
  target_row "history p16 (pages of 50): pages/s" "$history16" ">= 20000" ">=" 20000
  target_row "send p1 p99: beside history / alone" "$(ratio "$send_beside" "$send_alone")" \
    "<= 1.2" "<" 1.2001
  target_row "idle $idle_connections: answering" "$idle_ans" "$idle_connections" ">=" \
    "$idle_connections"
  target_row "idle $idle_connections: realmd RSS (MiB)" "$(ratio "$idle_rss" 1024)" "< 60" "<" 60
}

# --- restart: 1,000,000 unread messages ---

run_restart() {
  local dir start_ns ready_ns
  dir="$(run_dir restart)"
  realm_config bench "$dir"
  start_realmd bench "$dir" || die "restart: realmd did not start"
  say "bench: restart: sending $restart_messages messages through realmd (pipeline 16)"
  bench send 16 realmd-fill 1 --port "$server_port" --server-pid "$server_pid" \
    --connections "$connections" --count "$restart_messages"
  local fill_rss
  fill_rss="$(awk '/^VmRSS/ { print $2 }' "/proc/$server_pid/status")"
  stop_process "$server_pid"

  say "bench: restart: starting realmd on $(du -sh "$dir/data" | cut -f1) of store"
  : >"$dir/realmd.log"
  start_ns=$(date +%s%N)
  "$realmd" --config "$dir/realm.yaml" >"$dir/realmd.log" 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  wait_for_line "$dir/realmd.log" "realm bench: clients on " "$server_pid" ||
    die "restart: realmd did not come back"
  ready_ns=$(date +%s%N)
  local listen_rss listen_ms listen_cpu_ms
  listen_rss="$(awk '/^VmRSS/ { print $2 }' "/proc/$server_pid/status")"
  # CPU used to get there (utime + stime, after the command name): on a busy machine the wall
  # time also holds the time spent waiting for a core.
  listen_cpu_ms="$(sed -E 's/^.*\) //' "/proc/$server_pid/stat" |
    awk -v hz="$(getconf CLK_TCK)" '{ print int(($12 + $13) * 1000 / hz) }')"
  listen_ms=$(((ready_ns - start_ns) / 1000000))
  server_port="$(sed -n -E 's/.*realm bench: clients on [^ ]*:([0-9]+).*/\1/p' "$dir/realmd.log")"
  # Still answering with the inboxes loaded: every bench user logs in and asks `info`.
  bench idle 1 realmd-restarted 1 --port "$server_port" --server-pid "$server_pid" \
    --connections "$connections"
  stop_process "$server_pid"

  printf '\n%-46s %10s %10s %s\n' target measured goal verdict
  printf '%-46s %10s %10s %s\n' "messages stored (unread)" "$restart_messages" "" ""
  printf '%-46s %10s %10s %s\n' "realmd RSS holding them before restart (MiB)" \
    "$((fill_rss / 1024))" "" ""
  printf '%-46s %10s %10s %s\n' "restart: start to listening (s)" "$(ratio "$listen_ms" 1000)" \
    "< 2" "$(verdict "$(ratio "$listen_ms" 1000)" "<" 2)"
  printf '%-46s %10s %10s %s\n' "restart: CPU used until listening (s)" \
    "$(ratio "$listen_cpu_ms" 1000)" "" ""
  printf '%-46s %10s %10s %s\n' "restart: RSS when listening (MiB)" "$((listen_rss / 1024))" \
    "< 250" "$(verdict "$((listen_rss / 1024))" "<" 250)"
}

# --- takeover: a standby takes over a realm of 1,000,000 unread messages on PostgreSQL ---

# The holder and the standby share the realm's database and differ in data_dir; both listen on
# port 0. The time is from the holder's kill -9 to the standby's "clients on" line: it waits
# out the lease (lease_ms; the standby polls every quarter of it), then loads the realm, then
# listens. Then every bench user logs in and asks `info` of it.
run_takeover() {
  local holder standby url
  start_postgres || die "takeover: PostgreSQL did not start"
  url="$(new_postgres_database bench_takeover)" || die "takeover: createdb failed"
  holder="$(run_dir takeover-holder)"
  standby="$(run_dir takeover-standby)"
  store_url="$url" realm_config bench "$holder"
  store_url="$url" realm_config bench "$standby"
  start_realmd bench "$holder" || die "takeover: the holder did not start"
  local holder_pid=$server_pid
  say "bench: takeover: sending $restart_messages messages through realmd (pipeline 16)"
  bench send 16 realmd-pg-fill 1 --port "$server_port" --server-pid "$holder_pid" \
    --connections "$connections" --count "$restart_messages"

  "$realmd" --config "$standby/realm.yaml" >"$standby/realmd.log" 2>&1 &
  local standby_pid=$!
  pids+=("$standby_pid")
  wait_for_line "$standby/realmd.log" "standby: waiting for the lease" "$standby_pid" ||
    die "takeover: the standby did not start"
  say "bench: takeover: kill -9 of the holder (lease_ms $lease_ms)"
  local killed_ns taken_ns ready_ns
  killed_ns=$(date +%s%N)
  kill -9 "$holder_pid"
  wait "$holder_pid" 2>/dev/null || true # reaped here, so bash prints no "Killed" line
  start_deadline_s=$((start_deadline_s + lease_ms / 1000))
  wait_for_line "$standby/realmd.log" "took the lease" "$standby_pid" ||
    die "takeover: the standby did not take the lease"
  taken_ns=$(date +%s%N)
  wait_for_line "$standby/realmd.log" "realm bench: clients on " "$standby_pid" ||
    die "takeover: the standby did not serve"
  ready_ns=$(date +%s%N)
  server_port="$(sed -n -E 's/.*realm bench: clients on [^ ]*:([0-9]+).*/\1/p' "$standby/realmd.log")"
  bench idle 1 realmd-pg-taken-over 1 --port "$server_port" --server-pid "$standby_pid" \
    --connections "$connections"
  grep -E "took the lease|unread messages: read in" "$standby/realmd.log" | sed 's/^/    /' >&2
  stop_process "$standby_pid"

  local total_ms=$(((ready_ns - killed_ns) / 1000000))
  printf '\n%-46s %10s %10s %s\n' target measured goal verdict
  printf '%-46s %10s %10s %s\n' "messages stored (unread)" "$restart_messages" "" ""
  printf '%-46s %10s %10s %s\n' "takeover: kill -9 to lease taken (s)" \
    "$(ratio $(((taken_ns - killed_ns) / 1000000)) 1000)" "" "(lease_ms $lease_ms)"
  printf '%-46s %10s %10s %s\n' "takeover: lease taken to serving (s)" \
    "$(ratio $(((ready_ns - taken_ns) / 1000000)) 1000)" "" ""
  printf '%-46s %10s %10s %s\n' "takeover: kill -9 to serving (s)" "$(ratio "$total_ms" 1000)" \
    "< 5" "$(verdict "$(ratio "$total_ms" 1000)" "<" 5)"
}

say "bench: $mode run, $(nproc) cores, $(uname -r); binaries in ${bin_dir#"$REALMCHAT_ROOT"/}"
say "bench: load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ $mode == restart ]]; then
  run_restart
elif [[ $mode == takeover ]]; then
  run_takeover
else
  run_workloads
  print_table
  print_postgres_targets
fi
say "bench: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

if [[ ${#failures[@]} -gt 0 ]]; then
  say ""
  say "bench: FAILED runs:"
  for failure in "${failures[@]}"; do say "  $failure"; done
  exit 1
fi
say "bench: every run finished without errors"
