#!/usr/bin/env bash
# Builds and runs every test: the Release build (build/), the benchmark smoke run, the fuzz
# targets (60,000 runs each from a fixed seed, clang), then the ASan+UBSan build (build-asan/). Exits non-zero if any
# build or test fails; the summary names every skipped test (a skip is never a pass).
#   scripts/test.sh          all of it
#   scripts/test.sh --fast   Release tests only
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '2,6s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

sanitize=true
for arg in "$@"; do
  case $arg in
    --fast) sanitize=false ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $arg" ;;
  esac
done

summary=()
failed=false
fuzz_runs=60000

# Progress and the summary go to stdout with ctest's output, so a CI log reads in order.
note() { printf '%s\n' "$*"; }

# run_stage LABEL BUILD_DIR BUILD_OPTIONS...: builds, runs ctest with its output in full
# (its closing "N% tests passed ..." line is what CI reads), and records the outcome.
run_stage() {
  local label=$1 dir=$2
  shift 2
  note "== $label: build"
  if ! "$REALMCHAT_SCRIPTS/build.sh" "$@"; then
    summary+=("$label: BUILD FAILED")
    failed=true
    return
  fi
  note "== $label: ctest"
  local log="$dir/ctest.log"
  # Serial unless CTEST_PARALLEL_LEVEL says otherwise: the process tests start realmd on
  # ports found free a moment earlier, which tests running alongside can take first.
  if (cd "$dir" && ctest --output-on-failure --no-tests=error 2>&1) | tee "$log"; then
    :
  else
    failed=true
  fi
  local result
  result="$(grep -E 'tests passed|No tests were found' "$log" | tail -n 1 || true)"
  summary+=("$label: ${result:-ctest did not finish}")
  record_skips "$label" "$dir" "$log"
}

# record_skips LABEL BUILD_DIR CTEST_LOG: every skipped test goes into the summary, since
# ctest's closing line counts a skip among the passes: the tests CTest lists as not run
# ("Skipped": exit 77), and each test case a doctest binary named as skipped
# (tests/doctest_main.cpp prints "SKIPPED <binary>: <case> (<why>)" into LastTest.log).
record_skips() {
  local label=$1 dir=$2 log=$3 line
  while IFS= read -r line; do
    [[ -n $line ]] && summary+=("$label: skipped: $line")
  done < <(
    sed -n '/^The following tests did not run:/,/^$/{/did not run/d;s/^[[:space:]]*//;p;}' "$log"
    sed -n 's/^SKIPPED //p' "$dir/Testing/Temporary/LastTest.log" 2>/dev/null
  )
}

"$REALMCHAT_SCRIPTS/bootstrap.sh"

run_stage release "$REALMCHAT_ROOT/build"

# run_check LABEL COMMAND...: a stage that is one command (pass/fail only).
run_check() {
  local label=$1
  shift
  note "== $label"
  if "$@"; then
    summary+=("$label: passed")
  else
    summary+=("$label: FAILED")
    failed=true
  fi
}

if $sanitize && ! $failed; then
  # Not timed tests: each workload runs a second and must finish without an error reply.
  run_check "bench --smoke" "$REALMCHAT_SCRIPTS/bench.sh" --smoke
  # A fixed budget from a fixed seed: every machine runs the same inputs, so a failure here
  # replays anywhere (scripts/fuzz.sh SECS is the exploring run, from a random seed).
  run_check "fuzz $fuzz_runs runs/target" "$REALMCHAT_SCRIPTS/fuzz.sh" --runs "$fuzz_runs"
fi

if $sanitize && ! $failed; then
  # Any leak or undefined behaviour fails the test binary that shows it.
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  run_stage asan+ubsan "$REALMCHAT_ROOT/build-asan" --sanitize
elif $sanitize; then
  summary+=("asan+ubsan: skipped (release failed)")
fi

note ""
note "== summary"
for line in "${summary[@]}"; do note "  $line"; done
if $failed; then
  note "test.sh: FAILED"
  exit 1
fi
note "test.sh: all tests passed"
