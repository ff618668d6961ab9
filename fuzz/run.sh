#!/usr/bin/env bash
# Run every fuzz target for SECONDS each (default 600), one after the other, in one process each
# (no -jobs: libFuzzer would fork and write fuzz-N.log into the work tree), niced,
# and print a table of executions per target. Needs nightly and cargo-fuzz
# (`cargo install cargo-fuzz --locked`). What a run finds is kept in fuzz/work/TARGET (not
# committed); the seeds in fuzz/corpus/TARGET are only read. A crash, panic, timeout or
# out-of-memory leaves its input in fuzz/artifacts/TARGET/ and makes this script exit 1.
#
#   fuzz/run.sh [SECONDS]            all targets
#   TARGETS="otlp config" fuzz/run.sh 60
set -u
cd "$(dirname "$0")/.."
secs=${1:-600}
targets=${TARGETS:-$(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^gwmon-fuzz$')}
# Release build (-O), as gwmon ships: no overflow checks (see fuzz/README.md).
# GWMON_FUZZ_TARGET_DIR: build outside the work tree (CI keeps its dependencies built there).
common=(-O)
if [ -n "${GWMON_FUZZ_TARGET_DIR:-}" ]; then common+=(--target-dir "$GWMON_FUZZ_TARGET_DIR"); fi
build=(cargo +nightly fuzz build "${common[@]}")
run=(nice -n 10 cargo +nightly fuzz run "${common[@]}")
flags=(-max_total_time="$secs" -rss_limit_mb=512 -malloc_limit_mb=256 -timeout=10
       -print_final_stats=1)
nice -n 10 "${build[@]}" >/dev/null 2>&1 || { nice -n 10 "${build[@]}"; exit 1; }
mkdir -p fuzz/work
failed=0
rows=()
for t in $targets; do
    mkdir -p "fuzz/work/$t" "fuzz/corpus/$t"
    log="fuzz/work/$t.log"
    # Built first (the source may have changed since the build above): the time is the run's.
    nice -n 10 "${build[@]}" "$t" >/dev/null 2>&1
    # The pool target builds a whole report per input (up to a year of hourly series when a
    # line's time is far off), which under AddressSanitizer's quarantine needs more room.
    extra=()
    if [ "$t" = pool ]; then extra=(-rss_limit_mb=2048); fi
    start=$(date +%s)
    "${run[@]}" "$t" "fuzz/work/$t" "fuzz/corpus/$t" -- "${flags[@]}" "${extra[@]}" >"$log" 2>&1
    rc=$?
    took=$(( $(date +%s) - start ))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
    corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$done_line")
    rate=$(( ${execs:-0} / (took > 0 ? took : 1) ))
    if [ "$rc" -eq 0 ]; then verdict=ok; else verdict="FAILED (rc $rc, see $log)"; failed=1; fi
    rows+=("$(printf '%-14s %12s %8s %6s %7s %7s %6ss  %s' "$t" "${execs:-?}" "$rate" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$took" "$verdict")")
    echo "${rows[-1]}" >&2
    if [ "$rc" -ne 0 ]; then
        grep -E 'panicked at|ERROR: libFuzzer|SUMMARY|Test unit written' "$log" | head -5 >&2
    fi
done
printf '%-14s %12s %8s %6s %7s %7s %7s  %s\n' target executions exec/s cov ft corpus time result
printf '%s\n' "${rows[@]}"
exit $failed
