#!/usr/bin/env bash
# Builds realmchat with CMake + Ninja. Binaries land in <build dir>/bin.
#   scripts/build.sh              Release           -> build/
#   scripts/build.sh --sanitize   ASan+UBSan, Debug -> build-asan/
#   scripts/build.sh --debug      Debug             -> build-debug/
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '2,5s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

sanitize=OFF
debug=false
for arg in "$@"; do
  case $arg in
    --sanitize) sanitize=ON ;;
    --debug) debug=true ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $arg" ;;
  esac
done

build_dir="$REALMCHAT_ROOT/build"
build_type=Release
if [[ $sanitize == ON ]]; then
  # Debug, not -O2: g++ 12 with sanitizers and optimisation reports false
  # -Wmaybe-uninitialized in libstdc++ headers (<regex>), which -Werror turns into errors.
  build_dir+=-asan
  build_type=Debug
elif $debug; then
  build_dir+=-debug
  build_type=Debug
fi

"$REALMCHAT_SCRIPTS/bootstrap.sh"

configure=(-S "$REALMCHAT_ROOT" -B "$build_dir" -DCMAKE_BUILD_TYPE="$build_type"
  -DREALMCHAT_SANITIZE="$sanitize")
# The generator is fixed at the first configure; naming it again on an existing tree fails
# when it differs, so only a new tree gets -G.
[[ -f $build_dir/CMakeCache.txt ]] || configure+=(-G Ninja)

say "build: $build_type, sanitize=$sanitize -> ${build_dir#"$REALMCHAT_ROOT"/}"
cmake "${configure[@]}" >/dev/null
cmake --build "$build_dir" -j "$(build_jobs)"
