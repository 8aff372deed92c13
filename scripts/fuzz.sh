#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (build-fuzz/) and runs each one on its
# corpus, tests/fuzz/corpus/<target>/: for SECS seconds (default 30) from a random seed, or,
# with --runs N, for N executions from seed 1 (what scripts/test.sh and so CI run: the same
# inputs on every machine, so a red run can be replayed; exploring is what SECS is for). What a
# run finds that reaches code the corpus does not is merged into it (files named by their
# SHA-1: commit them; the fuzz_corpus_* ctest cases replay them in every build); past 200
# found files or 512 KiB the found files are minimised to fewer with the same coverage. Named
# seeds are never touched. Exits non-zero if any target finds a crash, a leak, a timeout or an
# out-of-memory; the input is kept in build-fuzz/fuzz/<target>/artifacts/, and nothing of that
# run is merged.
#   scripts/fuzz.sh [SECS]
#   scripts/fuzz.sh --runs N
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '2,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

secs=30
runs=
case ${1:-} in
  -h | --help) usage; exit 0 ;;
  '') ;;
  --runs) [[ ${2:-} =~ ^[1-9][0-9]*$ && $# -eq 2 ]] || { usage >&2; die "--runs takes a positive integer"; }
     runs=$2 ;;
  *) [[ $1 =~ ^[1-9][0-9]*$ && $# -eq 1 ]] || { usage >&2; die "SECS must be a positive integer"; }
     secs=$1 ;;
esac
# How long each target runs, as libFuzzer options and as words for the log.
if [[ -n $runs ]]; then
  budget=(-runs="$runs" -seed=1)
  budget_words="$runs runs from seed 1"
else
  budget=(-max_total_time="$secs")
  budget_words="${secs}s"
fi

# Input size limits: the client target's framer allows 256-byte lines, so 4096 bytes hold many
# requests and an over-long one; a link frame line is short; an HTTP head is at most 8 KiB
# (past that: 431); the reply printer's splitter overflows past 512 bytes; a history blob of a
# few records is enough to reach every branch of its reader.
declare -A max_len=([fuzz_client_lines]=4096 [fuzz_link_frames]=2048 [fuzz_peer_frames]=2048
  [fuzz_web_http]=9000 [fuzz_reply_printer]=4096 [fuzz_history_blob]=1024)
targets=(fuzz_client_lines fuzz_link_frames fuzz_peer_frames fuzz_web_http fuzz_reply_printer
  fuzz_history_blob)
# Past either, the found part of a corpus is minimised.
max_found_files=200
max_corpus_bytes=$((512 * 1024))

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

# Inputs a run found, as libFuzzer names them (the SHA-1 of their bytes); seeds have names.
found_files() {
  find "$1" -maxdepth 1 -type f -regextype posix-extended -regex '.*/[0-9a-f]{40}'
}

# Merging compares the code reached (edges), not hit counts (-use_counters=0): counts would
# admit hundreds of near-copies in a few seconds.
merge_options=(-merge=1 -use_counters=0)

# minimise TARGET CORPUS WORK: replaces the found files of CORPUS by the fewest of them that,
# with the seeds, keep the coverage (a merge into a copy of the seeds).
minimise() {
  local target=$1 corpus=$2 work=$3
  rm -rf "$work/min" "$work/found"
  mkdir -p "$work/min" "$work/found"
  find "$corpus" -maxdepth 1 -type f -exec cp {} "$work/min/" \;
  found_files "$work/min" | xargs -r mv -t "$work/found"
  if "$build_dir/bin/$target" "${merge_options[@]}" -max_len="${max_len[$target]}" "$work/min" \
    "$work/found" >"$work/minimise.log" 2>&1; then
    found_files "$corpus" | xargs -r rm -f
    found_files "$work/min" | xargs -r cp -t "$corpus"
  else
    say "fuzz: $target: minimising failed (log: ${work#"$REALMCHAT_ROOT"/}/minimise.log)"
  fi
}

corpus_bytes() {
  find "$1" -maxdepth 1 -type f -printf '%s\n' | awk '{ n += $1 } END { print n + 0 }'
}
corpus_size() {
  printf '%s files, %s KiB' "$(find "$1" -type f | wc -l)" $(($(corpus_bytes "$1") / 1024))
}

failed=()
for target in "${targets[@]}"; do
  work="$build_dir/fuzz/$target"
  corpus="$REALMCHAT_ROOT/tests/fuzz/corpus/$target"
  rm -rf "$work"
  mkdir -p "$work/new" "$work/artifacts"
  before="$(corpus_size "$corpus")"
  say "fuzz: $target for $budget_words (log: ${work#"$REALMCHAT_ROOT"/}/fuzz.log)"
  status=0
  # New inputs go to the first directory; the corpus is only read.
  "$build_dir/bin/$target" "${budget[@]}" -max_len="${max_len[$target]}" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
    "$work/new" "$corpus" >"$work/fuzz.log" 2>&1 || status=$?
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -n 1)"
  if [[ $status -ne 0 ]]; then
    failed+=("$target")
    # The sanitizer's report and the input's file name are at the end of the log.
    tail -n 60 "$work/fuzz.log" >&2
    printf '%s: FAILED (exit %d); inputs: %s\n' "$target" "$status" \
      "$(find "$work/artifacts" -type f -printf '%p ' 2>/dev/null)"
    continue
  fi
  # Only what adds coverage to the corpus joins it.
  "$build_dir/bin/$target" "${merge_options[@]}" -max_len="${max_len[$target]}" "$corpus" \
    "$work/new" >"$work/merge.log" 2>&1 ||
    say "fuzz: $target: merge failed (log: ${work#"$REALMCHAT_ROOT"/}/merge.log)"
  if [[ $(found_files "$corpus" | wc -l) -gt $max_found_files ||
    $(corpus_bytes "$corpus") -gt $max_corpus_bytes ]]; then
    minimise "$target" "$corpus" "$work"
  fi
  printf '%s: %s executions (%s); corpus %s -> %s\n' "$target" "${execs:-?}" \
    "$budget_words" "$before" "$(corpus_size "$corpus")"
done

if [[ ${#failed[@]} -gt 0 ]]; then
  printf 'fuzz.sh: FAILED: %s\n' "${failed[*]}"
  exit 1
fi
printf 'fuzz.sh: no crashes\n'
