#!/usr/bin/env bash
# Installs the Debian packages realmchat builds with (docs/design.md §1).
# Idempotent and fast: apt is only touched when a package is missing. The ASan+UBSan
# build uses g++; clang and its runtimes (libFuzzer) are for scripts/fuzz.sh. libwslay-dev is
# the WebSocket framing of the browser client (docs/architecture.md). The openssl command makes
# the demo's and the tests' throwaway certificates. libpq-dev is PostgresStore's client library;
# postgresql-15 the server the tests and `scripts/cluster.sh up --store postgres` start
# privately (never as a system service: see docs/operations.md). iproute2's `ip netns` makes the
# network namespaces of the partition test (process_partition_postgres).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

packages=(
  libasio-dev rapidjson-dev libyaml-cpp-dev doctest-dev libsqlite3-dev libsodium-dev
  libssl-dev libcli11-dev libspdlog-dev libfmt-dev libreadline-dev libwslay-dev
  prometheus-cpp-dev libsystemd-dev libhttp-parser-dev
  pkg-config ninja-build cmake g++ clang libclang-rt-14-dev openssl chromium
  libpq-dev postgresql-15 systemd iproute2
)

# node and npm for the browser test (tests/web/run_browser_test.sh checks the same).
check_node() {
  local problem=""
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    problem="node and npm are not installed"
  elif (($(node -p 'process.versions.node.split(".")[0]') < 20)); then
    problem="node $(node --version) is older than 20"
  fi
  [[ -z $problem ]] && return 0
  local how="install node 20 or later with npm (e.g. from nodejs.org or NodeSource;"
  how+=" Debian 12's nodejs is 18)"
  [[ ${CI:-} == true ]] && die "bootstrap: $problem: the browser test cannot run; $how"
  say "bootstrap: warning: $problem: the browser test will be skipped; $how"
}

missing=()
for package in "${packages[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)"
  [[ $status == "install ok installed" ]] || missing+=("$package")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  check_node
  exit 0
fi

say "bootstrap: installing ${missing[*]}"
# sudo drops the environment, so the frontend is passed through env.
apt=(env DEBIAN_FRONTEND=noninteractive apt-get -q)
as_root "${apt[@]}" update
# --no-install-recommends: otherwise libasio-dev pulls in all of Boost.
as_root "${apt[@]}" install -y --no-install-recommends "${missing[@]}"
check_node
