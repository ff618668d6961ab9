#!/usr/bin/env bash
# benches/report.sh [SIZE_MB] [DIR] — `gwmon report` throughput against `grep -c`, per log shape.
#
#   SIZE_MB  size of each generated log in MiB (default 1024)
#   DIR      where the generated logs are cached (default target/bench/data, not committed)
#
# Environment: REGEN=1 regenerates the logs even when cached; RUNS=N timed runs per tool
# (default 3, the best is kept); GWMON_ARGS extra arguments for `gwmon report`.
#
# For each shape (console, docker, otlp, logcli) a ~SIZE_MB log is simulated once
# (`gwmon simulate --seed 1 --target-bytes`, with its truth JSON), the page cache is warmed, then
# `gwmon report --json --pool-size 8 FILE` (the truth is for pool size 8, the simulator's default)
# and `LC_ALL=C grep -c GATEWAY_ FILE | cat` (stdout must be a pipe: GNU grep stops at the first
# match when its stdout is /dev/null) are timed, best of RUNS each. One table row per shape:
#
#   shape, MiB, gwmon wall s (best), MiB/s, grep wall s (best), gwmon/grep, target, pass/FAIL,
#   CPU% = (user+sys)/wall of gwmon's best run (N cores → at most N×100%), gwmon peak RSS (MiB),
#   busy% = how busy all cores were during one idle second just before the row's runs (the rest
#   of the machine: above a few % the timings are noisy).
#
# Targets (gwmon/grep wall time): console ≤ 1.0, docker ≤ 1.5, logcli ≤ 3, otlp ≤ 5.
# Correctness (a benchmark that reads wrong is worthless): lines.read must equal `wc -l`, and the
# report must match the simulator's truth (allocations.allocated printed; every other truth key
# compared as the integration tests do). Exit status 1 when a check fails, 0 otherwise (a missed
# speed target is reported, not an error).
set -euo pipefail

SIZE_MB=${1:-1024}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${2:-$ROOT/target/bench/data}
RUNS=${RUNS:-3}
GWMON=$ROOT/target/release/gwmon
read -r -a EXTRA <<<"${GWMON_ARGS:-}"

[[ $SIZE_MB =~ ^[0-9]+$ && $SIZE_MB -gt 0 ]] || { echo "usage: $0 [SIZE_MB] [DIR]" >&2; exit 2; }

echo "== build: cargo build --release" >&2
(cd "$ROOT" && cargo build --release --quiet)

mkdir -p "$DIR"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gwmon-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

cat >"$WORK/check.py" <<'PY'
# check.py SHAPE REPORT.json TRUTH.json WC_L GREP_C: is the timed report right?
import json, sys
shape, got_p, truth_p = sys.argv[1:4]
wcl, grep_n = int(sys.argv[4]), int(sys.argv[5])
got, truth = json.load(open(got_p)), json.load(open(truth_p))
bad = []


def walk(p, e, a):
    """As tests/integration/simulated.rs: keys only the report has are fine, integers exact,
    floats within 1e-6 relative, HDR duration percentiles within 0.1 % + 2 ms."""
    if isinstance(e, dict):
        if not isinstance(a, dict):
            return bad.append(f"{p}: expected an object, got {a!r}"[:200])
        for k, v in e.items():
            if p == "" and k in ("expected_alerts", "per_day_utilization"):
                continue  # compared below, as tests/integration/replay.rs does
            if k not in a:
                bad.append(f"{p}.{k}: expected {v!r}, missing"[:200])
            else:
                walk(f"{p}.{k}", v, a[k])
    elif isinstance(e, list):
        if not isinstance(a, list) or len(a) != len(e):
            n = len(a) if isinstance(a, list) else repr(a)
            bad.append(f"{p}: expected {len(e)} entries, got {n}"[:200])
        for i, (x, y) in enumerate(zip(e, a if isinstance(a, list) else [])):
            walk(f"{p}[{i}]", x, y)
    elif isinstance(e, (bool, str)) or e is None:
        if e != a:
            bad.append(f"{p}: expected {e!r}, got {a!r}"[:200])
    elif isinstance(e, int) and isinstance(a, int) and not isinstance(a, bool):
        if e != a:
            bad.append(f"{p}: expected {e}, got {a}")
    elif isinstance(a, (int, float)) and not isinstance(a, bool):
        # Quantiles come from HDR histograms (3 significant digits): 0.1 % + 2 ms.
        hdr = any(d in p for d in ("durations_s.", "restart_s.", "startup_ms.")) \
            and p.rsplit(".", 1)[1] in ("p50", "p90", "p99", "max")
        unit = 1.0 if "_ms." in p else 1e-3
        tol = 1e-3 * abs(e) + 2 * unit if hdr else 1e-6 * max(abs(e), abs(a)) + 1e-9
        if not abs(e - a) <= tol:
            bad.append(f"{p}: expected {e}, got {a}")
    else:
        bad.append(f"{p}: expected {e!r}, got {a!r}"[:200])


notes = []
# src/pool.rs lists only the non-empty rate buckets when the window spans more than ten years
# of hours (10 × 366 × 24: broken timestamps); the simulator's truth always lists them all.
rate = truth.get("rate") or {}
if len(rate.get("per_hour", [])) - 1 > 10 * 366 * 24:
    for k in ("per_hour", "per_day"):
        rate[k] = [b for b in rate.get(k, []) if b["allocated"] or b["failed"]]
    notes.append("window > 10 years: rate buckets compared without the empty ones")
walk("", truth, got)
# The incident alerts the simulator predicts (when its truth has them).
if "expected_alerts" in truth:
    rules = ("pool_exhausted", "orphaned_allocation")
    def timeline(alerts):
        return sorted((x["fired_at"], x["rule"], x.get("resolved_at"))
                      for x in alerts if x.get("rule") in rules)
    want, have = timeline(truth["expected_alerts"]), timeline(got.get("alerts") or [])
    if want != have:
        extra = sorted(set(have) - set(want))[:3]
        missing = sorted(set(want) - set(have))[:3]
        bad.append(f".alerts ({'/'.join(rules)}): expected {len(want)}, got {len(have)}; "
                   f"missing {missing}, unexpected {extra}")
read, alloc, talloc = got["lines"]["read"], got["allocations"]["allocated"], truth["allocations"]["allocated"]
ok = read == wcl and alloc == talloc and not bad
print(f"{'ok  ' if ok else 'FAIL'} {shape:<8} lines.read {read} {'==' if read == wcl else '!='} wc -l {wcl}"
      f" · allocations.allocated {alloc} {'==' if alloc == talloc else '!='} truth {talloc}"
      f" · matched {got['lines']['matched']} skipped {got['lines']['skipped']} (grep -c {grep_n})"
      f" · truth: {'all keys match' if not bad else str(len(bad)) + ' difference(s)'}"
      + "".join(f" ({n})" for n in notes) + "".join("\n       " + x for x in bad[:10]))
sys.exit(0 if ok else 1)
PY

SHAPES=(console docker otlp logcli)
declare -A TARGET=([console]=1.0 [docker]=1.5 [logcli]=3 [otlp]=5)

# Generate (cached by size and shape).
for shape in "${SHAPES[@]}"; do
    log=$DIR/$shape-${SIZE_MB}M.log
    if [[ ${REGEN:-0} == 1 || ! -s $log || ! -s $log.truth.json ]]; then
        echo "== generate $log" >&2
        "$GWMON" simulate --seed 1 --format "$shape" --target-bytes $((SIZE_MB * 1048576)) \
            --out "$log.tmp" --truth "$log.truth.json.tmp"
        mv "$log.tmp" "$log"
        mv "$log.truth.json.tmp" "$log.truth.json"
    fi
done

# time_cmd OUT CMD...: run CMD with stdout to OUT; sets T_WALL T_USER T_SYS (s) T_RSS (KiB), T_RC.
time_cmd() {
    local out=$1 t0 t1
    shift
    if [[ -x /usr/bin/time ]]; then
        t0=$(date +%s%N)
        T_RC=0
        /usr/bin/time -f '%U %S %M' -o "$WORK/time" "$@" >"$out" || T_RC=$?
        t1=$(date +%s%N)
        read -r T_USER T_SYS T_RSS <"$WORK/time"
        T_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", (b-a)/1e9}')
    else
        # No /usr/bin/time: wait4(2) gives the same figures.
        T_RC=0
        python3 - "$out" "$@" >"$WORK/time" <<'PY' || T_RC=$?
import os, sys, time
out, argv = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.execvp(argv[0], argv)
_, status, ru = os.wait4(pid, 0)
print(f"{time.perf_counter() - t0:.3f} {ru.ru_utime:.2f} {ru.ru_stime:.2f} {ru.ru_maxrss}")
sys.exit(os.waitstatus_to_exitcode(status))
PY
        read -r T_WALL T_USER T_SYS T_RSS <"$WORK/time"
    fi
}

# time_grep FILE: wall time of `LC_ALL=C grep -c GATEWAY_ FILE | cat`; sets G_WALL G_COUNT.
time_grep() {
    local t0 t1
    t0=$(date +%s%N)
    G_COUNT=$(LC_ALL=C grep -c GATEWAY_ "$1" | cat)
    t1=$(date +%s%N)
    G_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", (b-a)/1e9}')
}

# busy_pct: how busy all cores were (%) over one idle second: what the rest of the machine is doing.
busy_pct() {
    local a b
    a=$(head -1 /proc/stat)
    sleep 1
    b=$(head -1 /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN{
        split(a, x); split(b, y); busy = 0; total = 0
        for (i = 2; i <= 9; i++) { d = y[i] - x[i]; total += d; if (i != 5 && i != 6) busy += d }
        printf "%.0f", total ? busy / total * 100 : 0 }'
}

CORES=$(nproc)
echo
echo "gwmon $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$ROOT" && git diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null || echo '+dirty') · $CORES cores · $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "start: $(uptime) · cores busy $(busy_pct)% over 1 s before the runs"
echo "gwmon report --json --pool-size 8 ${EXTRA[*]:+${EXTRA[*]} }FILE  vs  LC_ALL=C grep -c GATEWAY_ FILE | cat   (best of $RUNS, warm page cache)"
echo
printf '%-8s %8s %9s %8s %8s %7s %7s %-5s %6s %8s %6s\n' \
    shape MiB gwmon_s MiB/s grep_s ratio target ok cpu% rss_MiB busy%
CHECKS=()
failed=0
for shape in "${SHAPES[@]}"; do
    log=$DIR/$shape-${SIZE_MB}M.log
    cat "$log" >/dev/null
    bytes=$(stat -c %s "$log")
    busy=$(busy_pct)
    best=; best_cpu=; rss=0
    for ((i = 0; i < RUNS; i++)); do
        time_cmd "$WORK/report.json" "$GWMON" report --json --pool-size 8 "${EXTRA[@]}" "$log"
        if [[ $T_RC != 0 ]]; then
            echo "FAIL $shape: gwmon report exited with status $T_RC" >&2
            failed=1
            continue
        fi
        [[ -e $WORK/$shape.json ]] || cp "$WORK/report.json" "$WORK/$shape.json"
        if [[ -z $best ]] || awk -v a="$T_WALL" -v b="$best" 'BEGIN{exit !(a<b)}'; then
            best=$T_WALL
            best_cpu=$(awk -v u="$T_USER" -v s="$T_SYS" -v w="$T_WALL" 'BEGIN{printf "%.0f%%", (u+s)/w*100}')
        fi
        ((T_RSS > rss)) && rss=$T_RSS
    done
    gbest=
    for ((i = 0; i < RUNS; i++)); do
        time_grep "$log"
        if [[ -z $gbest ]] || awk -v a="$G_WALL" -v b="$gbest" 'BEGIN{exit !(a<b)}'; then gbest=$G_WALL; fi
    done
    [[ -n $best ]] || { echo "FAIL $shape: no successful run" >&2; continue; }
    row=$(awk -v s="$shape" -v B="$bytes" -v g="$best" -v r="$gbest" -v t="${TARGET[$shape]}" \
        -v c="$best_cpu" -v m="$rss" -v l="$busy%" 'BEGIN{
        mib = B / 1048576; ratio = g / r
        printf "%-8s %8.1f %9.3f %8.0f %8.3f %7.2f %7s %-5s %6s %8.1f %6s",
            s, mib, g, mib / g, r, ratio, "<=" t, (ratio <= t ? "pass" : "FAIL"), c, m / 1024, l }')
    echo "$row"

    # Correctness of what was timed.
    wcl=$(wc -l <"$log")
    CHECKS+=("$(python3 "$WORK/check.py" "$shape" "$WORK/$shape.json" "$log.truth.json" "$wcl" "$G_COUNT")") || failed=1
done
echo
echo "end:   $(uptime)"
echo
echo "checks (first successful run of each shape):"
printf '  %s\n' "${CHECKS[@]}"
[[ $failed == 0 ]] || { echo "some checks FAILED" >&2; exit 1; }
