#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (build-fuzz/) and runs each one for
# SECS seconds (default 30) on a scratch copy of its seed corpus (tests/fuzz/corpus/<target>;
# the committed seeds are never changed). Exits non-zero if any target finds a crash, a leak,
# a timeout or an out-of-memory; the input is kept in build-fuzz/fuzz/<target>/artifacts/.
#   scripts/fuzz.sh [SECS]
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '2,6s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

secs=30
case ${1:-} in
  -h | --help) usage; exit 0 ;;
  '') ;;
  *) [[ $1 =~ ^[1-9][0-9]*$ && $# -eq 1 ]] || { usage >&2; die "SECS must be a positive integer"; }
     secs=$1 ;;
esac

# Input size limits: the client target's framer allows 256-byte lines, so 4096 bytes hold many
# requests and an over-long one; a link frame line is short.
declare -A max_len=([fuzz_client_lines]=4096 [fuzz_link_frames]=2048 [fuzz_peer_frames]=2048)
targets=(fuzz_client_lines fuzz_link_frames fuzz_peer_frames)

"$REALMCHAT_SCRIPTS/bootstrap.sh"

build_dir="$REALMCHAT_ROOT/build-fuzz"
configure=(-S "$REALMCHAT_ROOT" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo
  -DREALMCHAT_FUZZ=ON -DREALMCHAT_TESTS=ON)
# The compiler and generator are fixed at the first configure of a tree.
[[ -f $build_dir/CMakeCache.txt ]] || configure+=(-G Ninja)
say "fuzz: building ${targets[*]} -> ${build_dir#"$REALMCHAT_ROOT"/}"
CC=clang CXX=clang++ cmake "${configure[@]}" >/dev/null
# Only the fuzz targets: the rest of the tree is not built with the fuzzer's flags in mind.
cmake --build "$build_dir" -j "$(build_jobs)" --target "${targets[@]}"

export ASAN_OPTIONS="detect_leaks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

failed=()
for target in "${targets[@]}"; do
  work="$build_dir/fuzz/$target"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  cp "$REALMCHAT_ROOT/tests/fuzz/corpus/$target/"* "$work/corpus/"
  say "fuzz: $target for ${secs}s (log: ${work#"$REALMCHAT_ROOT"/}/fuzz.log)"
  status=0
  "$build_dir/bin/$target" -max_total_time="$secs" -max_len="${max_len[$target]}" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
    "$work/corpus" >"$work/fuzz.log" 2>&1 || status=$?
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -n 1)"
  corpus_files="$(find "$work/corpus" -type f | wc -l)"
  if [[ $status -ne 0 ]]; then
    failed+=("$target")
    # The sanitizer's report and the input's file name are at the end of the log.
    tail -n 60 "$work/fuzz.log" >&2
    printf '%s: FAILED (exit %d); inputs: %s\n' "$target" "$status" \
      "$(find "$work/artifacts" -type f -printf '%p ' 2>/dev/null)"
  else
    printf '%s: %s executions in %ss (%s/s), corpus %s files\n' "$target" "${execs:-?}" \
      "$secs" "$(( ${execs:-0} / secs ))" "$corpus_files"
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  printf 'fuzz.sh: FAILED: %s\n' "${failed[*]}"
  exit 1
fi
printf 'fuzz.sh: no crashes\n'
