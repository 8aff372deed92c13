#!/usr/bin/env bash
# The installed systemd unit passes `systemd-analyze verify` without a warning. The unit names
# the installed realmd, which a build tree does not have: the check runs on a copy that names
# the built one. Without systemd-analyze the test is skipped (exit 77, shown as skipped by
# CTest), except in CI (CI=true), where the tool belongs to the image (Debian's systemd).
#   unit_file_test.sh UNIT INSTALLED_BIN_DIR BUILT_BIN_DIR
set -euo pipefail
unit=$1 installed_bin=$2 built_bin=$3

if ! command -v systemd-analyze >/dev/null; then
  if [[ ${CI:-} == true ]]; then
    echo "systemd-analyze is missing in CI: install Debian's systemd package" >&2
    exit 1
  fi
  echo "SKIPPED: no systemd-analyze on this machine"
  exit 77
fi

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# An instance of the template, as systemctl would start it.
sed "s|$installed_bin/realmd|$built_bin/realmd|g" "$unit" >"$dir/realmd@test.service"
output=$(systemd-analyze verify "$dir/realmd@test.service" 2>&1) || {
  echo "$output" >&2
  exit 1
}
if [[ -n $output ]]; then
  echo "systemd-analyze verify warned:" >&2
  echo "$output" >&2
  exit 1
fi
grep -q '^Type=notify$' "$dir/realmd@test.service"
echo "realmd@.service: verified"
