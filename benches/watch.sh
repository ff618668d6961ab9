#!/usr/bin/env bash
# benches/watch.sh [--only latency,throughput,idle] [options] — `gwmon watch` on a followed file.
#
#   (a) latency     gwmon watch --pool-size 1 --color never FILE; a refusal and a recovering
#                   allocation are appended alternately at --rate per second (default 20), each
#                   with the current time, so each append gives one FIRING or RESOLVED line on
#                   stdout. Latency = time the alert line is read from gwmon's stdout − time just
#                   before the append's write(2), over --samples appends (default 200).
#                   Target: p50 and p99 < 50 ms.
#   (b) throughput  a simulated console log (`gwmon simulate --start NOW`, --data-mb MiB, the
#                   realistic mix: ~95 % unrelated lines) is appended as fast as possible,
#                   --batch lines per write(2) (default 64), for --duration seconds (default 10)
#                   or until --max-mb MiB were appended (default 4096), cycling through the data
#                   if needed, while `gwmon watch --pool-size 8` follows the file. Two lines end it
#                   (an allocation, then a refusal, timed after everything else, so that the
#                   refusal's FIRING line on stdout marks the moment gwmon has read everything).
#                   Completion is checked with `kill -USR1` every 100 ms: the pool line on stderr
#                   must reach `N lines` = the number appended. Rate = lines appended / time from
#                   the first write until gwmon has processed them all. Target ≥ 200 000 lines/s.
#                   When gwmon keeps up, that is the writer's rate (a lower bound); lines per
#                   second of gwmon CPU time is printed too (its rate with a core to itself).
#   (c) idle        gwmon watch on a file nothing writes to; utime+stime from /proc/PID/stat over
#                   --idle seconds (default 60), as CPU %, and the wake-ups per second (context
#                   switches of all its threads). Target < 1 %.
#
# Other options: --gwmon-args "ARGS" (extra arguments for every gwmon watch, e.g. "--poll 250ms");
# --dir DIR for the followed files (default target/bench; /dev/shm takes the disk out of (b)).
# Exit status 1 if a run went wrong (missing or unexpected alert lines, a line count that never
# matched, gwmon exiting on its own); a missed target is reported, not an error.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
echo "== build: cargo build --release" >&2
(cd "$ROOT" && cargo build --release --quiet)
mkdir -p "$ROOT/target/bench"
exec python3 - "$ROOT" "$@" <<'PY'
import argparse, datetime, os, queue, re, shlex, shutil, signal, subprocess, sys, tempfile
import threading, time

ROOT = sys.argv[1]
ap = argparse.ArgumentParser(prog="benches/watch.sh")
ap.add_argument("--only", default="latency,throughput,idle")
ap.add_argument("--samples", type=int, default=200)
ap.add_argument("--rate", type=float, default=20.0)
ap.add_argument("--duration", type=float, default=10.0)
ap.add_argument("--batch", type=int, default=64)
ap.add_argument("--data-mb", type=int, default=256)
ap.add_argument("--max-mb", type=int, default=4096)
ap.add_argument("--idle", type=float, default=60.0)
ap.add_argument("--gwmon-args", default="")
ap.add_argument("--dir", default=os.path.join(ROOT, "target/bench"))
args = ap.parse_args(sys.argv[2:])
parts = set(args.only.split(","))
if not parts <= {"latency", "throughput", "idle"} or args.batch < 1 or args.samples < 1:
    ap.error("--only takes latency,throughput,idle; --batch and --samples must be ≥ 1")

GWMON = os.path.join(ROOT, "target/release/gwmon")
WORK = tempfile.mkdtemp(dir=args.dir, prefix="gwmon-watch.")
CLK_TCK = os.sysconf("SC_CLK_TCK")
EXTRA = shlex.split(args.gwmon_args)
problems = []


def now_iso(ms=None):
    if ms is None:
        ms = time.time_ns() // 1_000_000
    t = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def refusal(t, org):
    return f'{t} [ERROR    ] [GATEWAY_ALLOC       ] Failed to start gateway for org {org}: "no_gateway_available"\n'


def allocation(t, org):
    return (f"{t} [INFO     ] [GATEWAY_ALLOC       ] Allocated gw-pool-1 (port 7101, upstream "
            f"172.17.0.1:7101) to org {org}\n")


def deallocation(t, org):
    return f"{t} [INFO     ] [GATEWAY_DEALLOC     ] Stopping gateway 00000000-0000-4000-8000-000000000001 for org {org}\n"


def cpu_stat():
    """(busy, total) jiffies of all cores, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return sum(v) - v[3] - v[4], sum(v)


def busy_between(a, b):
    return (b[0] - a[0]) / max(1, b[1] - a[1]) * 100


def busy_now():
    """% of all cores busy over one idle second: what the rest of the machine is doing."""
    a = cpu_stat()
    time.sleep(1)
    return f"machine busy {busy_between(a, cpu_stat()):.0f}% just before"


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)


def ctx_switches(pid):
    n = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        n += int(line.split()[1])
        except FileNotFoundError:
            pass
    return n


class Watch:
    """A running `gwmon watch`, its stdout and stderr lines timestamped as they are read."""

    def __init__(self, path, extra):
        cmd = [GWMON, "watch", "--color", "never", *extra, *EXTRA, path]
        self.cmd = cmd
        self.out = queue.Queue()
        self.err = queue.Queue()
        self.err_lines = []
        self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        self.threads = [threading.Thread(target=self._read, args=(pipe, q), daemon=True)
                        for pipe, q in ((self.p.stdout, self.out), (self.p.stderr, self.err))]
        for t in self.threads:
            t.start()

    @staticmethod
    def _read(pipe, q):
        fd, buf = pipe.fileno(), b""
        while True:
            chunk = os.read(fd, 65536)
            t = time.perf_counter()
            if not chunk:
                break
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for line in lines:
                q.put((t, line.decode("utf-8", "replace")))
        q.put((time.perf_counter(), None))

    def ready(self, timeout=10.0):
        """Wait until SIGUSR1 is handled, then until a pool line comes back (the loop runs, so the
        file is being followed)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with open(f"/proc/{self.p.pid}/status") as f:
                cgt = next(int(l.split()[1], 16) for l in f if l.startswith("SigCgt"))
            if cgt & (1 << (signal.SIGUSR1 - 1)):
                break
            time.sleep(0.005)
        else:
            raise RuntimeError("gwmon watch never installed its SIGUSR1 handler")
        self.p.send_signal(signal.SIGUSR1)
        if self.pool_line(timeout) is None:
            raise RuntimeError(f"gwmon watch printed no pool line after SIGUSR1: {self.err_lines}")

    def pool_line(self, timeout):
        """The next pool line on stderr, as (time read, number of lines), or None."""
        end = time.monotonic() + timeout
        while True:
            try:
                t, line = self.err.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                return None
            if line is None:
                return None
            self.err_lines.append(line)
            m = re.search(r" pool .* · (\d+) lines, (\d+) skipped", line)
            if m:
                return t, int(m.group(1))

    def stop(self):
        if self.p.poll() is not None:
            problems.append(f"{' '.join(self.cmd)} exited on its own with status {self.p.returncode}: "
                            f"{self.err_lines[-3:]}")
            return
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            problems.append("gwmon watch did not end within 5 s of SIGTERM")
        for t in self.threads:
            t.join(timeout=2)
        while True:
            try:
                _, line = self.err.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.err_lines.append(line)
        if self.p.returncode != 0:
            problems.append(f"gwmon watch ended with status {self.p.returncode} after SIGTERM")
        unexpected = [l for l in self.err_lines if " pool " not in l]
        if unexpected:
            problems.append(f"gwmon watch stderr: {unexpected[:5]}")


def pct(sorted_xs, p):
    """Nearest-rank percentile."""
    k = max(0, min(len(sorted_xs) - 1, -(-len(sorted_xs) * p // 100) - 1))
    return sorted_xs[int(k)]


def latency():
    path = os.path.join(WORK, "latency.log")
    open(path, "w").close()
    # Every transition notified (the default keep_firing_for holds an incident for 2 h).
    w = Watch(path, ["--pool-size", "1", "--set", "alerts.pool_exhausted.keep_firing_for=0s"])
    w.ready()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    writes = []
    interval = 1.0 / args.rate
    load_start = busy_now()
    t0 = time.perf_counter() + 0.1
    for i in range(args.samples):
        target = t0 + i * interval
        d = target - time.perf_counter()
        if d > 0:
            time.sleep(d)
        stamp = now_iso()
        if i % 2 == 0:
            data = refusal(stamp, f"bench-refused-{i}")
        else:
            data = allocation(stamp, f"bench-alloc-{i}") + deallocation(stamp, f"bench-alloc-{i}")
        data = data.encode()
        writes.append(time.perf_counter())  # before the write: the reader thread may run first
        os.write(fd, data)
    os.close(fd)
    got = []
    deadline = time.perf_counter() + 3.0
    while len(got) < args.samples and time.perf_counter() < deadline:
        try:
            t, line = w.out.get(timeout=max(0.0, deadline - time.perf_counter()))
        except queue.Empty:
            break
        if line is None:
            break
        got.append((t, line))
    w.stop()
    # Anything after the expected lines?
    while True:
        try:
            t, line = w.out.get_nowait()
        except queue.Empty:
            break
        if line is not None:
            got.append((t, line))
    lat, wrong = [], []
    for i, (t, line) in enumerate(got[: args.samples]):
        want = "FIRING" if i % 2 == 0 else "RESOLVED"
        f = line.split()
        if len(f) < 4 or f[1] != want or f[3] != "pool_exhausted":
            wrong.append(f"alert {i}: expected {want} pool_exhausted, got {line!r}")
        lat.append((t - writes[i]) * 1000)
    if len(got) != args.samples:
        problems.append(f"latency: {args.samples} appends gave {len(got)} alert lines "
                        f"(expected one each); last lines: {[l for _, l in got[-3:]]}")
    problems.extend(wrong[:5])
    if not lat:
        print("(a) latency: no alert line read")
        return
    s = sorted(lat)
    p50, p99 = pct(s, 50), pct(s, 99)
    ok = "pass" if p50 < 50 and p99 < 50 else "FAIL"
    print(f"(a) latency   {len(lat)} alerts at {args.rate:g}/s: p50 {p50:.2f} ms · p99 {p99:.2f} ms · "
          f"max {s[-1]:.2f} ms · min {s[0]:.2f} ms · mean {sum(s) / len(s):.2f} ms   "
          f"target p50, p99 < 50 ms: {ok}   ({load_start})")


def throughput():
    data_path = os.path.join(WORK, "mix.log")
    start = now_iso()
    subprocess.run([GWMON, "simulate", "--seed", "1", "--format", "console", "--start",
                    start[:19] + "Z", "--target-bytes", str(args.data_mb << 20),
                    "--out", data_path], check=True)
    with open(data_path, "rb") as f:
        data = f.read()
    os.unlink(data_path)
    ends = [m.end() for m in re.finditer(b"\n", data)]
    bounds = [0] + ends[args.batch - 1 :: args.batch]
    if bounds[-1] != ends[-1]:
        bounds.append(ends[-1])
    nblocks = len(bounds) - 1
    block_lines = [args.batch] * nblocks
    block_lines[-1] = len(ends) - args.batch * (nblocks - 1)
    last_ms = int(datetime.datetime.strptime(data[ends[-2] : ends[-2] + 23].decode(),
                                             "%Y-%m-%dT%H:%M:%S.%f")
                  .replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)
    # The end marker: an allocation (resolves pool_exhausted if it fires) then a refusal (fires it),
    # after every event of the data.
    marker_time = now_iso(max(last_ms, time.time_ns() // 1_000_000) + 1000)
    marker = (allocation(marker_time, "bench-marker-alloc")
              + refusal(marker_time, "bench-marker-refused")).encode()
    mv = memoryview(data)

    path = os.path.join(WORK, "throughput.log")
    open(path, "w").close()
    alerts = open(os.path.join(WORK, "throughput.alerts"), "w+b")
    # Alert lines go to a file (the data fires alerts), except that the marker's FIRING must be
    # seen as soon as it is written: gwmon's stdout goes through a pipe read by a thread.
    w = Watch(path, ["--pool-size", "8", "--set", "alerts.pool_exhausted.keep_firing_for=0s"])
    w.ready()
    polls = []  # (time, lines processed), from SIGUSR1

    def drain_alerts():
        while True:
            t, line = w.out.get()
            if line is None:
                return
            alerts.write(line.encode() + b"\n")
            if line.split()[1:2] == ["FIRING"] and marker_time in line:
                marker_seen.append(t)

    marker_seen = []
    drainer = threading.Thread(target=drain_alerts, daemon=True)
    drainer.start()

    stop_polling = threading.Event()

    def poller():
        while not stop_polling.is_set():
            w.p.send_signal(signal.SIGUSR1)
            r = w.pool_line(1.5)
            if r is None:
                return
            polls.append(r)
            stop_polling.wait(0.1)

    max_bytes = args.max_mb << 20
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    load_start = busy_now()
    cpu0 = cpu_ticks(w.p.pid)
    pt = threading.Thread(target=poller, daemon=True)
    t_start = time.perf_counter()
    t_end = t_start + args.duration
    pt.start()
    lines = written = 0
    i = 0
    while True:
        a, b = bounds[i], bounds[i + 1]
        os.write(fd, mv[a:b])
        written += b - a
        lines += block_lines[i]
        i += 1
        if i == nblocks:
            i = 0
        if written >= max_bytes or time.perf_counter() >= t_end:
            break
    t_written = time.perf_counter()
    os.write(fd, marker)
    lines += 2
    written += len(marker)
    os.close(fd)
    # Wait until the pool line says every line was processed (at most 120 s).
    t_done = None
    deadline = time.perf_counter() + 120
    while time.perf_counter() < deadline:
        if polls and polls[-1][1] >= lines:
            t_done = polls[-1][0]
            break
        if not pt.is_alive():
            break
        time.sleep(0.02)
    stop_polling.set()
    pt.join(timeout=3)
    cpu1 = cpu_ticks(w.p.pid) if w.p.poll() is None else None
    t_cpu = time.perf_counter()
    w.stop()
    drainer.join(timeout=3)
    n_alerts = alerts.tell()
    alerts.close()
    last_count = polls[-1][1] if polls else None
    if t_done is None or last_count != lines:
        problems.append(f"throughput: {lines} lines appended, gwmon's pool line says {last_count}")
        print(f"(b) throughput  gwmon never reported all {lines} lines (last: {last_count})")
        return
    # Lines processed when the writer finished, and the last poll still short of the total.
    at_end = max((n for t, n in polls if t <= t_written), default=0)
    short = [t for t, n in polls if n < lines]
    lower = (short[-1] if short else t_written) - t_start
    wall_usr1 = t_done - t_start
    wall_marker = (marker_seen[0] - t_start) if marker_seen else None
    if not marker_seen:
        problems.append("throughput: the end marker's FIRING line was not seen")
    wall = wall_marker if wall_marker is not None else wall_usr1
    rate = lines / wall
    ok = "pass" if rate >= 200_000 else "FAIL"
    cpu = (cpu1 - cpu0) / CLK_TCK / (t_cpu - t_start) * 100 if cpu1 is not None else float("nan")
    print(f"(b) throughput  {lines} lines ({written / 1048576:.0f} MiB, {args.batch} lines per write) "
          f"appended in {t_written - t_start:.2f} s = {lines / (t_written - t_start):,.0f} lines/s written; "
          f"gwmon had processed {at_end} of them by then")
    print(f"                all processed after {wall:.2f} s (end marker's alert; SIGUSR1 polls: "
          f"between {lower:.2f} s and {wall_usr1:.2f} s) → {rate:,.0f} lines/s "
          f"({written / 1048576 / wall:.0f} MiB/s)   target ≥ 200,000 lines/s: {ok}")
    cap = lines / ((cpu1 - cpu0) / CLK_TCK) if cpu1 and cpu1 > cpu0 else float("nan")
    print(f"                gwmon CPU {cpu:.0f}% of one core meanwhile (lines / gwmon CPU s = {cap:,.0f}: "
          f"its rate if it had a core to itself); {n_alerts} bytes of alert lines; "
          f"{load_start}")


def idle():
    path = os.path.join(WORK, "idle.log")
    with open(path, "w") as f:
        f.write(allocation(now_iso(), "bench-idle"))
    w = Watch(path, ["--pool-size", "1"])
    w.ready()
    time.sleep(0.5)
    m0 = cpu_stat()
    c0, s0, t0 = cpu_ticks(w.p.pid), ctx_switches(w.p.pid), time.perf_counter()
    time.sleep(args.idle)
    c1, s1, t1 = cpu_ticks(w.p.pid), ctx_switches(w.p.pid), time.perf_counter()
    m1 = cpu_stat()
    w.stop()
    cpu = (c1 - c0) / CLK_TCK / (t1 - t0) * 100
    ok = "pass" if cpu < 1 else "FAIL"
    print(f"(c) idle      {t1 - t0:.0f} s: {(c1 - c0) * 1000 // CLK_TCK} ms CPU = {cpu:.3f}% · "
          f"{(s1 - s0) / (t1 - t0):.1f} wake-ups/s   target < 1%: {ok}   "
          f"(machine busy {busy_between(m0, m1):.0f}% meanwhile)")


try:
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    rev = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                         capture_output=True, text=True).stdout.strip()
    print(f"gwmon {rev} watch benchmark · {os.cpu_count()} cores · load average {load}"
          + (f" · extra args: {args.gwmon_args}" if EXTRA else ""))
    if "latency" in parts:
        latency()
    if "throughput" in parts:
        throughput()
    if "idle" in parts:
        idle()
finally:
    shutil.rmtree(WORK, ignore_errors=True)
for p in problems:
    print("PROBLEM:", p)
sys.exit(1 if problems else 0)
PY
