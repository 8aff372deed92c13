#!/usr/bin/env bash
# The browser test (CTest: browser_web): realmd's browser client in Debian's Chromium, driven by
# playwright-core from npm (browser_test.mjs). Installs what it needs: Chromium with apt-get
# when /usr/bin/chromium is missing, playwright-core into WORK_DIR/node (kept between runs,
# reinstalled when package-lock.json changes). Exits 77 (CTest's skip code here) only when
# Chromium cannot be installed.
#   run_browser_test.sh BIN_DIR WORK_DIR SCREENSHOT_PNG
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin_dir=$1 work_dir=$2 screenshot=$3
chromium=/usr/bin/chromium

skip() {
  echo "SKIPPED: $*"
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

if [[ ! -x $chromium ]]; then
  echo "browser test: $chromium is missing, installing Debian's chromium"
  install_chromium || true
  [[ -x $chromium ]] || skip "chromium cannot be installed"
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
