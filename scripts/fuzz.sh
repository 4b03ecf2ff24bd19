#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ in a clang build of their own and runs
# them one after the other, each for a set time; prints executions, coverage and
# findings per target, and exits 1 if any target found a crash, a broken
# invariant, a leak, a hang or a blow-up in memory (see docs/FUZZING.md).
#
#   scripts/fuzz.sh [--seconds N] [--build-dir DIR] [target...]
#
# --seconds N    time per target (default 600); the ctest entry (label fuzz) uses 30
# --build-dir    the clang build (default build-fuzz); it also keeps, per target,
#                the corpus grown so far (DIR/corpus/<target>, seeded from
#                fuzz/corpus/<target>), findings (DIR/findings/<target>) and the
#                last run's log (DIR/logs/<target>.log)
# target         csv_reader, events_file, svg_template, api_json, mime_header (default: all)
# Environment: HERALD_FUZZ_CXX (default clang++), HERALD_FUZZ_JOBS (build jobs, default all cores).
set -euo pipefail
cd "$(dirname "$0")/.."

all_targets=(csv_reader events_file svg_template api_json mime_header)
seconds=600
build_dir=build-fuzz
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
    --build-dir) build_dir=${2:?--build-dir needs a folder}; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) targets+=("${1%_fuzz}"); shift ;;
  esac
done
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "fuzz.sh: --seconds must be a whole number of seconds, not \"$seconds\"" >&2
  exit 2
fi
if [ ${#targets[@]} -eq 0 ]; then targets=("${all_targets[@]}"); fi
for target in "${targets[@]}"; do
  if [[ " ${all_targets[*]} " != *" $target "* ]]; then
    echo "fuzz.sh: no target \"$target\"; targets: ${all_targets[*]}" >&2
    exit 2
  fi
done

cxx=${HERALD_FUZZ_CXX:-clang++}
# -O1 and line tables: fast enough to fuzz, quick to build, reports with file:line.
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DHERALD_BUILD_FUZZ=ON \
  -DHERALD_BUILD_TESTS=OFF -DHERALD_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" >/dev/null
cmake --build "$build_dir" --parallel "${HERALD_FUZZ_JOBS:-$(nproc)}" --target "${targets[@]/%/_fuzz}"

# Stack traces with file and line in a finding's report.
symbolizer=$("$cxx" -print-prog-name=llvm-symbolizer)
if command -v "$symbolizer" >/dev/null 2>&1; then
  export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$(command -v "$symbolizer")}
fi
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

mkdir -p "$build_dir/logs"
summary=()
failed=0
for target in "${targets[@]}"; do
  corpus=$build_dir/corpus/$target
  findings=$build_dir/findings/$target
  log=$build_dir/logs/$target.log
  mkdir -p "$corpus" "$findings"
  marker=$build_dir/logs/$target.started
  touch "$marker"
  echo "fuzz.sh: $target for ${seconds}s (log: $log)"
  start=$(date +%s)
  status=0
  # The first folder takes what the run finds new; the seeds are only read.
  "$build_dir/fuzz/${target}_fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$findings/" "$corpus" "fuzz/corpus/$target" >"$log" 2>&1 || status=$?
  elapsed=$(( $(date +%s) - start ))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  coverage=$(sed -n 's/^#[0-9].* cov: \([0-9]*\) ft: \([0-9]*\).*/\1 edges, \2 features/p' "$log" | tail -1)
  corpus_size=$(find "$corpus" -type f | wc -l)
  mapfile -t new_findings < <(find "$findings" -type f -newer "$marker" \
    \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
  if [ "$status" -ne 0 ] || [ ${#new_findings[@]} -gt 0 ]; then
    failed=1
    result="FOUND ${#new_findings[@]} (exit $status)"
    echo "fuzz.sh: $target: finding, exit status $status; from $log:"
    grep -E 'invariant broken|ERROR: |SUMMARY: |runtime error|deadly signal|uncaught exception' "$log" | head -20 || true
    for finding in "${new_findings[@]}"; do
      echo "  reproduce: $build_dir/fuzz/${target}_fuzz $finding"
    done
  else
    result="none"
  fi
  summary+=("$(printf '%-13s %8s %12s %10s %26s  %s' "$target" "$elapsed" "${runs:-?}" "$corpus_size" \
    "${coverage:-?}" "$result")")
done

printf '\n%-13s %8s %12s %10s %26s  %s\n' target seconds executions corpus coverage findings
printf '%s\n' "${summary[@]}"
exit "$failed"
