#!/usr/bin/env bash
# The browser test (CTest: browser_web): realmd's browser client in Debian's Chromium, driven by
# playwright-core from npm (browser_test.mjs). scripts/bootstrap.sh installs Chromium and checks
# node/npm; this script checks again, and installs playwright-core into WORK_DIR/node (kept
# between runs, reinstalled when package-lock.json changes).
# What is missing (Chromium, node 20 or later, npm) makes the test SKIP (exit 77, CTest shows
# it as not run) on a developer's machine, and FAIL in CI (CI=true): a CI run never passes
# without the browser test having run.
#   run_browser_test.sh BIN_DIR WORK_DIR SCREENSHOT_PNG
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin_dir=$1 work_dir=$2 screenshot=$3
chromium=/usr/bin/chromium
node_major_wanted=20  # package-lock.json's playwright-core needs it; Debian 12's nodejs is 18

cannot_run() {
  if [[ ${CI:-} == true ]]; then
    echo "FAILED: the browser test cannot run in CI: $*" >&2
    exit 1
  fi
  echo "SKIPPED: $* (scripts/bootstrap.sh installs Chromium and checks node and npm)"
  exit 77
}

install_chromium() {
  local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -q)
  if [[ $EUID -ne 0 ]]; then
    command -v sudo >/dev/null && sudo -n true 2>/dev/null || return 1
    apt=(sudo "${apt[@]}")
  fi
  "${apt[@]}" update && "${apt[@]}" install -y --no-install-recommends chromium
}

command -v node >/dev/null ||
  cannot_run "node is not installed (node $node_major_wanted or later is needed)"
command -v npm >/dev/null || cannot_run "npm is not installed"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
((node_major >= node_major_wanted)) ||
  cannot_run "node $(node --version) is too old (node $node_major_wanted or later is needed)"

if [[ ! -x $chromium ]]; then
  echo "browser test: $chromium is missing, installing Debian's chromium"
  install_chromium || true
  [[ -x $chromium ]] || cannot_run "chromium is not installed and cannot be installed"
fi

mkdir -p "$work_dir"
modules="$work_dir/node"
if ! cmp -s "$here/package-lock.json" "$modules/package-lock.json" ||
  [[ ! -d $modules/node_modules/playwright-core ]]; then
  echo "browser test: installing playwright-core into $modules"
  rm -rf "$modules"
  mkdir -p "$modules"
  cp "$here/package.json" "$here/package-lock.json" "$modules/"
  # playwright-core downloads no browser: Debian's Chromium is the one driven.
  (cd "$modules" && npm ci --no-audit --no-fund --loglevel=error)
fi

exec node "$here/browser_test.mjs" "$bin_dir" "$work_dir" "$screenshot" \
  "$modules/node_modules/playwright-core"
